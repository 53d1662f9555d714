"""The logging chart (Fluent Bit on Kubernetes) ships the local shipper's documents under the same template.

- ``helm lint`` / ``helm template --kube-version`` with the pinned helm, every rendered resource valid
  against the Kubernetes schemas (a missing schema fails), and values.schema.json refusing bad values;
- the index template reaches the cluster byte for byte from the one source file, through the link;
- the output writes the daily ``logs-`` indices the LogStore reads;
- the rendered Lua filter runs in LuaJIT on records shaped as Fluent Bit's kubernetes filter emits
  them for a real shop log line and a plain one, and gives the local rsyslog shipper's document.

Fluent Bit itself cannot run here (no Debian package; its image is in a registry this machine
cannot reach): the output's own step, writing ``@timestamp`` from the record's time, is
reproduced in ``_output_document`` from its source (plugins/out_opensearch/opensearch.c).
"""

from __future__ import annotations

import contextvars
import fnmatch
import importlib
import importlib.util
import json
import logging
import subprocess
import tarfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from stormcheck.errors import ToolInstallError
from stormcheck.logstore.query import DEFAULT_INDEX
from stormcheck.logstore.template import TEMPLATE_NAME, read_index_template, template_path
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.tools import TOOLS, install_tool

pytestmark = pytest.mark.static

ROOT = project_root()
CHART = ROOT / "platform" / "charts" / "logging"
RSYSLOG_CONF = ROOT / "platform" / "local" / "images" / "shipper" / "rsyslog.conf.in"
SHOP_LOGS = ROOT / "platform" / "shop" / "src" / "shop" / "logs.py"
KUBE_VERSION = "1.31.0"
PROPERTIES = set(read_index_template()["template"]["mappings"]["properties"])
RUN = "20261126T120000Z-abc123"
CONTAINER_ID = "3f4e1c2b9a8d" + "7" * 52
# The same instant as Docker's json-file and the CRI log write it (RFC 3339, nanoseconds).
RECEIVED = "2026-11-26T12:00:00.123456789Z"
FULL_VALUES = (
    "opensearch.host=search.example.internal",
    "opensearch.port=9243",
    "opensearch.tls.enabled=true",
    "opensearch.tls.verify=false",
    "opensearch.tls.caSecret=opensearch-ca",
    "opensearch.existingSecret=opensearch-writer",
    "input.namespaces={shop,payments}",
    "output.retryLimit=12",
    "image.digest=sha256:" + "a" * 64,
    "mapping.defaultZone=eu-west-1a",
)

Docs = list[dict[str, Any]]


@pytest.fixture(scope="module")
def helm(settings: Settings) -> Path:
    """The pinned helm from the tool cache, installed from the Go module proxy on first use."""
    try:
        return install_tool("helm", settings.cache_dir, go_proxy=settings.go_proxy) / "helm"
    except ToolInstallError as exc:
        pytest.fail(str(exc), pytrace=False)


def _helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _render(helm: Path, *values: str) -> Docs:
    sets = [arg for value in values for arg in ("--set", value)]
    done = _helm(
        helm, "template", "logs", str(CHART), "--namespace", "logging",
        "--kube-version", KUBE_VERSION, *sets,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _one(docs: Docs, kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (
        f"{kind}/{name} rendered {len(found)} times: {[d['kind'] for d in docs]}"
    )
    return found[0]


def _sections(conf: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic configuration as (section, {key: value}) in order."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in conf.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            sections.append((line.strip("[]"), {}))
        else:
            key, _, value = line.partition(" ")
            sections[-1][1][key] = value.strip()
    return sections


def _section(conf: str, kind: str, name: str) -> dict[str, str]:
    found = [s for k, s in _sections(conf) if k == kind and s.get("Name") == name]
    assert len(found) == 1, f"[{kind}] Name {name}: {len(found)} sections"
    return found[0]


@pytest.fixture(scope="module")
def rendered(helm: Path) -> Docs:
    return _render(helm)


@pytest.fixture(scope="module")
def pipeline(rendered: Docs) -> dict[str, str]:
    data: dict[str, str] = _one(rendered, "ConfigMap", "logs-logging")["data"]
    return data


# --- helm, schemas, values -------------------------------------------------------------------


def test_the_pinned_helm_reports_its_version(helm: Path) -> None:
    done = _helm(helm, "version", "--template", "{{.Version}}")
    assert done.stdout.strip() == TOOLS["helm"].version, done.stdout + done.stderr


def test_helm_lint_passes_strictly(helm: Path) -> None:
    done = _helm(helm, "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION)
    assert done.returncode == 0 and "0 chart(s) failed" in done.stdout, done.stdout + done.stderr


def test_the_chart_renders_the_shipper_its_rbac_and_the_template_hook(rendered: Docs) -> None:
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in rendered)
    assert kinds == [
        "ClusterRole/logs-logging",
        "ClusterRoleBinding/logs-logging",
        "ConfigMap/logs-logging",
        "ConfigMap/logs-logging-index-template",
        "DaemonSet/logs-logging",
        "Job/logs-logging-index-template",
        "ServiceAccount/logs-logging",
    ]
    rules = _one(rendered, "ClusterRole", "logs-logging")["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
    ]


@pytest.mark.parametrize("values", [(), FULL_VALUES], ids=["defaults", "every-option"])
def test_every_rendered_resource_is_valid_kubernetes(helm: Path, values: tuple[str, ...]) -> None:
    problems = []
    for doc in _render(helm, *values):
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{what}: no schema, so not validated ({exc.message})")
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{what}: {exc.message} at {list(exc.absolute_path)}")
    assert not problems, problems


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("opensearch.port=abc", "at '/opensearch/port': got string, want integer"),
        ("image.tag=latest", "at '/image/tag': 'not' failed"),
        ("output.retryLimit=0", "at '/output/retryLimit'"),
        ("mapping.runLabel=not a label", "at '/mapping/runLabel'"),
        ("opensearch.hots=typo", "additional properties 'hots' not allowed"),
    ],
)
def test_the_values_schema_refuses_a_bad_value_with_helms_error(
    helm: Path, value: str, error: str
) -> None:
    done = _helm(
        helm, "template", "logs", str(CHART), "--kube-version", KUBE_VERSION, "--set", value
    )
    assert done.returncode != 0, f"{value} was accepted"
    assert "values don't meet the specifications of the schema" in done.stderr, done.stderr
    assert error in done.stderr, done.stderr


def test_values_reach_the_output_the_input_and_the_pod(helm: Path) -> None:
    docs = _render(helm, *FULL_VALUES)
    conf = _one(docs, "ConfigMap", "logs-logging")["data"]["fluent-bit.conf"]
    output = _section(conf, "OUTPUT", "opensearch")
    assert (output["Host"], output["Port"]) == ("search.example.internal", "9243")
    assert (output["tls"], output["tls.verify"], output["tls.ca_file"]) == (
        "On", "Off", "/etc/opensearch-ca/ca.crt",
    )  # fmt: skip
    assert (output["HTTP_User"], output["HTTP_Passwd"]) == (
        "${OPENSEARCH_USERNAME}", "${OPENSEARCH_PASSWORD}",
    )  # fmt: skip
    assert output["Retry_Limit"] == "12"
    tail = _section(conf, "INPUT", "tail")
    assert tail["Path"] == "/var/log/containers/*_shop_*.log,/var/log/containers/*_payments_*.log"
    pod = _one(docs, "DaemonSet", "logs-logging")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "cr.fluentbit.io/fluent/fluent-bit@sha256:" + "a" * 64
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]}
    assert secrets == {
        "OPENSEARCH_USERNAME": "opensearch-writer",
        "OPENSEARCH_PASSWORD": "opensearch-writer",
    }
    job = _one(docs, "Job", "logs-logging-index-template")["spec"]["template"]["spec"]
    args = job["containers"][0]["args"]
    assert args[-1] == f"https://search.example.internal:9243/_index_template/{TEMPLATE_NAME}"
    assert "--insecure" in args and not any("writer" in a for a in args), args


def test_the_shipper_is_as_tight_as_tailing_host_logs_allows(rendered: Docs) -> None:
    pod = _one(rendered, "DaemonSet", "logs-logging")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    context = container["securityContext"]
    assert context == {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    writable = sorted(name for name, m in mounts.items() if not m.get("readOnly"))
    assert writable == ["state"], f"only the read positions and buffer are writable: {writable}"
    assert mounts["logs"]["mountPath"] == "/var/log"
    assert "memory" in container["resources"]["limits"], container["resources"]


# --- the index template ----------------------------------------------------------------------


def test_the_hook_puts_the_one_template_source_byte_for_byte(rendered: Docs) -> None:
    source = template_path().read_text(encoding="utf-8")
    config = _one(rendered, "ConfigMap", "logs-logging-index-template")
    assert config["data"]["index-template.json"] == source
    job = _one(rendered, "Job", "logs-logging-index-template")
    for hook in (config, job):
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["template"]["configMap"]["name"] == config["metadata"]["name"]
    args = spec["containers"][0]["args"]
    assert args[args.index("--request") + 1] == "PUT"
    assert args[args.index("--data-binary") + 1] == "@/template/index-template.json"
    assert args[-1] == f"http://opensearch:9200/_index_template/{TEMPLATE_NAME}"
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_the_chart_links_to_the_source_and_the_package_carries_its_bytes(
    helm: Path, tmp_path: Path
) -> None:
    link = CHART / "files" / "index-template.json"
    assert link.is_symlink() and link.resolve() == template_path().resolve(), link
    done = _helm(helm, "package", str(CHART), "--destination", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (package,) = tmp_path.glob("logging-*.tgz")
    with tarfile.open(package) as archive:
        member = archive.getmember("logging/files/index-template.json")
        extracted = archive.extractfile(member)
        assert member.isfile() and extracted is not None, "packaged as a link, not as the file"
        assert extracted.read() == template_path().read_bytes()
    assert (
        _helm(helm, "template", "x", str(package), "--kube-version", KUBE_VERSION).returncode == 0
    )


# --- the pipeline ----------------------------------------------------------------------------


def test_the_output_writes_the_daily_indices_the_logstore_reads(pipeline: dict[str, str]) -> None:
    output = _section(pipeline["fluent-bit.conf"], "OUTPUT", "opensearch")
    assert output["Logstash_Format"] == "On"
    index = f"{output['Logstash_Prefix']}-{datetime(2026, 11, 26, tzinfo=UTC).strftime(output['Logstash_DateFormat'])}"
    assert index == "logs-2026.11.26"
    assert fnmatch.fnmatchcase(index, DEFAULT_INDEX), DEFAULT_INDEX
    assert any(fnmatch.fnmatchcase(index, p) for p in read_index_template()["index_patterns"])
    assert (output["Time_Key"], output["Time_Key_Nanos"]) == ("@timestamp", "On")
    # resends overwrite themselves; a stopped OpenSearch leaves chunks waiting on disk, retried forever
    assert (output["Suppress_Type_Name"], output["Generate_ID"], output["Retry_Limit"]) == (
        "On",
        "On",
        "False",
    )
    assert _section(pipeline["fluent-bit.conf"], "INPUT", "tail")["storage.type"] == "filesystem"
    service = next(s for k, s in _sections(pipeline["fluent-bit.conf"]) if k == "SERVICE")
    assert service["storage.path"].startswith("/var/fluent-bit/state/")


def test_the_pipeline_tails_cri_logs_merges_json_and_leaves_out_its_own(
    rendered: Docs, pipeline: dict[str, str]
) -> None:
    conf = pipeline["fluent-bit.conf"]
    names = [(k, s["Name"]) for k, s in _sections(conf) if k != "SERVICE"]
    assert names == [
        ("INPUT", "tail"),
        ("FILTER", "kubernetes"),
        ("FILTER", "lua"),
        ("OUTPUT", "opensearch"),
    ]
    tail = _section(conf, "INPUT", "tail")
    assert tail["multiline.parser"] == "cri"
    kube = _section(conf, "FILTER", "kubernetes")
    assert (kube["Merge_Log"], kube["Keep_Log"], kube["Labels"]) == ("On", "Off", "On")
    shop = f"/var/log/containers/shop-7d9f-x2k4q_shop_shop-{CONTAINER_ID}.log"
    own = f"/var/log/containers/logs-logging-8xk2p_logging_fluent-bit-{CONTAINER_ID}.log"
    assert fnmatch.fnmatchcase(shop, tail["Path"]) and not fnmatch.fnmatchcase(
        shop, tail["Exclude_Path"]
    )
    assert fnmatch.fnmatchcase(own, tail["Exclude_Path"])
    assert kube["Kube_Tag_Prefix"] == "kube" + "/var/log/containers/".replace("/", ".")
    pod = _one(rendered, "DaemonSet", "logs-logging")["spec"]["template"]["spec"]
    assert pod["containers"][0]["name"] == "fluent-bit"  # the name Exclude_Path relies on
    conf_mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "config")
    lua = _section(conf, "FILTER", "lua")
    assert (
        lua["script"] == f"{conf_mount['mountPath']}/document.lua" and lua["call"] == "to_document"
    )
    assert pod["containers"][0]["args"] == [f"--config={conf_mount['mountPath']}/fluent-bit.conf"]


# --- the Lua filter against the local shipper --------------------------------------------------

LuaFilter = Callable[[Mapping[str, Any]], tuple[int, dict[str, Any]]]


def _lua_filter(script: str) -> LuaFilter:
    luajit = importlib.import_module("lupa.luajit21")  # Fluent Bit embeds LuaJIT 2.1
    lua = luajit.LuaRuntime(unpack_returned_tuples=True)
    lua.execute(script)
    function = lua.globals().to_document

    def run(record: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        seconds = _ns(RECEIVED) / 1e9
        code, _, doc = function(
            "kube.var.log.containers.x.log", seconds, lua.table_from(record, recursive=True)
        )
        return int(code), dict(doc.items())

    return run


@pytest.fixture(scope="module")
def to_document(pipeline: dict[str, str]) -> LuaFilter:
    return _lua_filter(pipeline["document.lua"])


def _ns(rfc3339: str) -> int:
    whole, _, fraction = rfc3339.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 10**9 + int(fraction.ljust(9, "0"))


def _shop_line() -> str:
    """An access line written by the shop's own formatter (platform/shop/src/shop/logs.py)."""
    spec = importlib.util.spec_from_file_location("shop_logs_under_test", SHOP_LOGS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    formatter = module.JsonFormatter({"service": "shop", "replica": "shop-2", "zone": "a"})
    record = logging.makeLogRecord(
        {"name": "shop.access", "levelname": "INFO", "levelno": 20, "msg": "request",
         "created": _ns(RECEIVED) / 1e9 - 0.004, "method": "POST", "path": "/api/v1/checkout",
         "route": "/api/v1/checkout", "status": 201, "duration_ms": 3.87, "client": "10.1.0.7"}
    )  # fmt: skip

    def formatted() -> str:
        module.request_id_var.set("5b0c8c1e-checkout-1")
        return str(formatter.format(record))

    return contextvars.copy_context().run(formatted)


def _kubernetes_record(line: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """What tail (multiline cri) and the kubernetes filter (Merge_Log On, Keep_Log Off) emit."""
    record: dict[str, Any] = {"time": RECEIVED, "stream": "stdout", "_p": "F"}
    try:
        merged = json.loads(line)
    except json.JSONDecodeError:
        merged = None
    record.update(merged if isinstance(merged, dict) else {"log": line})
    record["kubernetes"] = {
        "pod_name": "shop-7d9f-x2k4q", "namespace_name": "shop", "pod_id": "0b6f-uid",
        "labels": dict(labels), "host": "node-1", "container_name": "shop",
        "docker_id": CONTAINER_ID, "container_hash": "sha256:" + "c" * 64,
        "container_image": "shop:1.0",
    }  # fmt: skip
    return record


def _output_document(code: int, doc: Mapping[str, Any]) -> dict[str, Any]:
    """out_opensearch's step: Time_Key first, from the record's time (code 2 keeps the runtime's)."""
    assert code == 2, f"the filter must keep the runtime's timestamp (code 2), returned {code}"
    assert "@timestamp" not in doc, "a second @timestamp key would duplicate the output's Time_Key"
    ns = _ns(RECEIVED)
    stamp = datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {"@timestamp": f"{stamp}.{ns % 10**9:09d}Z", **doc}


# The rules of rsyslog.conf.in's `ship` ruleset that _local_document transcribes; a changed rule
# fails test_the_local_rules_are_still_the_ones_transcribed until both sides agree again.
LOCAL_RULES = (
    "set $!message = $.line;",
    "set $!@timestamp = $.d!time;",
    "set $!stream = $.d!stream;",
    "set $!run = $.d!attrs!stormcheck.run;",
    "set $!role = $.d!attrs!stormcheck.role;",
    "set $!container = substring($.container, 0, 12);",
    'if $!service == "" then set $!service = $.d!attrs!stormcheck.role;',
    'if $!zone == "" then set $!zone = $.d!attrs!stormcheck.zone;',
)


def _local_document(line: str, attrs: Mapping[str, str]) -> dict[str, Any]:
    """What the local shipper indexes for ``line`` (a whole line in Docker's json-file log)."""
    docker: dict[str, Any] = {"log": line + "\n", "stream": "stdout", "time": RECEIVED}
    text = docker["log"][:-1]  # a whole line: Docker's "\n" is there, so partial stays unset
    try:
        parsed = json.loads(text) if text.startswith("{") else None
    except json.JSONDecodeError:
        parsed = None
    doc: dict[str, Any] = parsed if isinstance(parsed, dict) else {"message": text}
    doc.update(
        {"@timestamp": docker["time"], "stream": docker["stream"], "container": CONTAINER_ID[:12]}
    )
    doc.update({"run": attrs.get("stormcheck.run", ""), "role": attrs.get("stormcheck.role", "")})
    for field, label in (("service", "stormcheck.role"), ("zone", "stormcheck.zone")):
        if doc.get(field, "") == "":
            doc[field] = attrs.get(label, "")
    return doc


POD_LABELS = {"app.kubernetes.io/component": "shop", "stormcheck.run": RUN, "stormcheck.zone": "b"}
DOCKER_LABELS = {"stormcheck.role": "shop", "stormcheck.run": RUN, "stormcheck.zone": "b"}


def test_the_rendered_lua_is_the_chart_file_after_the_template_fields(
    pipeline: dict[str, str],
) -> None:
    script = pipeline["document.lua"]
    assert script.rstrip("\n").endswith((CHART / "files" / "document.lua").read_text().rstrip("\n"))
    for field in PROPERTIES:
        assert f'["{field}"] = true,' in script, field


def test_the_local_rules_are_still_the_ones_transcribed() -> None:
    text = RSYSLOG_CONF.read_text(encoding="utf-8")
    missing = [rule for rule in LOCAL_RULES if rule not in text]
    assert not missing, (
        f"rsyslog.conf.in changed; update _local_document and the Lua filter: {missing}"
    )


def test_a_shop_line_becomes_the_local_shippers_document(to_document: LuaFilter) -> None:
    line = _shop_line()
    code, doc = to_document(_kubernetes_record(line, POD_LABELS))
    shipped = _output_document(code, doc)
    assert set(shipped) <= PROPERTIES, set(shipped) - PROPERTIES
    local = {k: v for k, v in _local_document(line, DOCKER_LABELS).items() if k in PROPERTIES}
    assert shipped == local, f"helm side: {shipped}\nlocal side: {local}"
    assert (shipped["service"], shipped["replica"], shipped["zone"]) == ("shop", "shop-2", "a")
    assert (shipped["container"], shipped["role"], shipped["run"]) == (
        CONTAINER_ID[:12],
        "shop",
        RUN,
    )
    assert (shipped["status"], shipped["request_id"]) == (201, "5b0c8c1e-checkout-1")
    assert "client" in json.loads(line), "the line's unmapped field is dropped, not absent"


def test_a_plain_line_gets_service_zone_and_replica_from_the_pod(to_document: LuaFilter) -> None:
    line = "Traceback (most recent call last): {not json"
    code, doc = to_document(_kubernetes_record(line, POD_LABELS))
    shipped = _output_document(code, doc)
    local = {k: v for k, v in _local_document(line, DOCKER_LABELS).items() if k in PROPERTIES}
    # the one addition: replica is the pod (the local shipper has no replica for such a line)
    assert shipped == {**local, "replica": "shop-7d9f-x2k4q"}, f"{shipped}\n{local}"
    assert (shipped["message"], shipped["service"], shipped["zone"]) == (line, "shop", "b")


def test_without_labels_service_is_the_container_and_zone_the_configured_default(
    helm: Path,
) -> None:
    docs = _render(helm, "mapping.defaultZone=eu-west-1a")
    to_document = _lua_filter(_one(docs, "ConfigMap", "logs-logging")["data"]["document.lua"])
    _, doc = to_document(_kubernetes_record("plain", {}))
    assert (doc["service"], doc["zone"], doc["replica"]) == (
        "shop",
        "eu-west-1a",
        "shop-7d9f-x2k4q",
    )
    assert "role" not in doc and "run" not in doc, doc


def test_without_a_zone_anywhere_the_document_has_none(to_document: LuaFilter) -> None:
    _, doc = to_document(_kubernetes_record("plain", {"app.kubernetes.io/component": "cart"}))
    assert "zone" not in doc and doc["service"] == "cart", doc


def test_the_lines_own_shipper_fields_are_replaced_and_unmapped_ones_dropped(
    to_document: LuaFilter,
) -> None:
    line = json.dumps({"message": "m", "@timestamp": "1999-01-01T00:00:00Z",
                       "role": "fake", "kubernetes_extra": 1, "service": ""})  # fmt: skip
    code, doc = to_document(_kubernetes_record(line, POD_LABELS))
    shipped = _output_document(code, doc)
    assert (shipped["stream"], shipped["role"], shipped["service"]) == ("stdout", "shop", "shop")
    assert shipped["@timestamp"].startswith("2026-11-26T12:00:00.123456789"), shipped
    assert set(shipped) <= PROPERTIES, set(shipped) - PROPERTIES
