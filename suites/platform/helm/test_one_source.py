"""One source with the local platform: what the charts render is what the local platform runs.

- the shop's PrometheusRule holds exactly the groups of platform/observability/rules/*.rules.yml
  (the detection alerts and the SLO engine's generated rules, annotations such as runbook_url
  included), read through links that ``helm package`` turns into the files' bytes;
- the Locust ConfigMap holds every file of load/ byte for byte;
- the monitoring chart's Alertmanager Secret is platform/observability's alertmanager.yml with
  only the cluster's paths and webhook changed, and amtool accepts it with its templates;
- images: the shop and Locust render ``<registry>/stormcheck/<role>:<content hash>`` with the
  hash computed by the engine (stormcheck.local.images.role_hash, the same tag the local platform
  builds), and kube-prometheus-stack runs the catalogue's pinned official images.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from stormcheck.local.catalogue import Role, read_catalogue
from stormcheck.local.images import role_hash
from stormcheck.observability.config import alertmanager_source
from stormcheck.observability.rules import rule_files
from stormcheck.paths import catalogue_path, project_root
from stormcheck.settings import Settings

from .charts import CHARTS_DIR, Rendering, ci_values, helm_run, installed_helm, one, rendered

pytestmark = pytest.mark.static

ROOT = project_root()
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
KPS_VALUES = CHARTS_DIR / "monitoring" / "kube-prometheus-stack.values.yaml"


@pytest.fixture(scope="module")
def helm(settings: Settings) -> Path:
    return installed_helm(settings)


@pytest.fixture(scope="module")
def shop(helm: Path) -> Rendering:
    return rendered(helm, "shop", CHARTS_DIR / "shop" / "ci" / "eks-values.yaml")


# --- the rules ----------------------------------------------------------------------------------


def _groups(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return groups


def test_the_chart_links_every_rule_file_and_nothing_else() -> None:
    links = sorted((CHARTS_DIR / "shop" / "files" / "rules").iterdir())
    assert [p.name for p in links] == [p.name for p in rule_files()]
    for link, source in zip(links, rule_files(), strict=True):
        assert link.is_symlink() and link.resolve() == source.resolve(), link


def test_the_prometheus_rule_holds_the_rule_files_groups_exactly(shop: Rendering) -> None:
    rule = one(shop.docs, "PrometheusRule", "r-shop")
    expected = [group for path in rule_files() for group in _groups(path)]
    assert rule["spec"]["groups"] == expected


def _alerts(groups: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, str]]:
    """Each alert's annotations, by (group, alert, severity)."""
    return {
        (g["name"], r["alert"], r.get("labels", {}).get("severity", "")): r.get("annotations", {})
        for g in groups
        for r in g["rules"]
        if "alert" in r
    }


def test_every_alert_keeps_its_annotations_runbook_url_included(shop: Rendering) -> None:
    rendered_alerts = _alerts(one(shop.docs, "PrometheusRule", "r-shop")["spec"]["groups"])
    slo = _alerts(_groups(ROOT / "platform" / "observability" / "rules" / "slo.rules.yml"))
    detection = _alerts(
        _groups(ROOT / "platform" / "observability" / "rules" / "detection.rules.yml")
    )
    assert slo and {k[1] for k in slo} == {"SLOErrorBudgetBurn"}, sorted(slo)
    assert rendered_alerts == {**detection, **slo}
    for key, kept in rendered_alerts.items():
        source = {**detection, **slo}[key]
        assert kept.get("runbook_url") == source.get("runbook_url"), key


def test_the_monitoring_selectors_pick_the_shops_rule_and_monitor(shop: Rendering) -> None:
    spec = yaml.safe_load(KPS_VALUES.read_text(encoding="utf-8"))["prometheus"]["prometheusSpec"]
    for kind, selector in (
        ("PrometheusRule", "ruleSelector"),
        ("ServiceMonitor", "serviceMonitorSelector"),
    ):
        labels = one(shop.docs, kind, "r-shop")["metadata"]["labels"]
        wanted = spec[selector]["matchLabels"]
        assert all(labels.get(k) == v for k, v in wanted.items()), (kind, wanted, labels)
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False


def test_the_scrape_job_is_the_one_the_rules_name(shop: Rendering) -> None:
    monitor = one(shop.docs, "ServiceMonitor", "r-shop")
    service = one(shop.docs, "Service", "r-shop")
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "shop"
    assert 'job="shop"' in (ROOT / "platform/observability/rules/detection.rules.yml").read_text()


# --- the locustfiles ----------------------------------------------------------------------------


def test_the_locust_configmap_holds_every_file_of_load(helm: Path) -> None:
    locust = rendered(helm, "locust", ci_values("locust")[0])
    data = one(locust.docs, "ConfigMap", "r-locust-load")["data"]
    sources = sorted((ROOT / "load").glob("*.py"))
    assert sorted(data) == [p.name for p in sources]
    for path in sources:
        assert data[path.name] == path.read_text(encoding="utf-8"), path.name
    links = sorted((CHARTS_DIR / "locust" / "files" / "load").iterdir())
    assert all(p.is_symlink() for p in links), links


@pytest.mark.parametrize(
    ("chart", "member", "source"),
    [
        ("shop", "shop/files/rules/slo.rules.yml", "platform/observability/rules/slo.rules.yml"),
        ("locust", "locust/files/load/shop.py", "load/shop.py"),
        ("monitoring", "monitoring/files/alertmanager.yml", "platform/observability/alertmanager/alertmanager.yml"),
    ],
)  # fmt: skip
def test_the_package_carries_the_linked_files_bytes(
    helm: Path, tmp_path: Path, chart: str, member: str, source: str
) -> None:
    done = helm_run(helm, "package", str(CHARTS_DIR / chart), "--destination", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (package,) = tmp_path.glob(f"{chart}-*.tgz")
    with tarfile.open(package) as archive:
        names = archive.getnames()
        assert not any(
            "/image/" in n or n.endswith("kube-prometheus-stack.values.yaml") for n in names
        )
        info = archive.getmember(member)
        extracted = archive.extractfile(info)
        assert info.isfile() and extracted is not None, f"{member} packaged as a link"
        assert extracted.read() == (ROOT / source).read_bytes()


# --- Alertmanager -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alertmanager_secret(helm: Path) -> dict[str, str]:
    monitoring = rendered(helm, "monitoring", CHARTS_DIR / "monitoring" / "ci" / "sink-values.yaml")
    data = one(monitoring.docs, "Secret", "alertmanager-stormcheck")["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def test_the_alertmanager_secret_is_the_source_with_the_cluster_paths(
    alertmanager_secret: dict[str, str],
) -> None:
    expected = yaml.safe_load(alertmanager_source().read_text(encoding="utf-8"))
    expected["templates"] = ["/etc/alertmanager/config/*.tmpl"]
    for receiver in expected["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = "https://incidents.example.com/hooks/alertmanager"
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = "/etc/alertmanager/secrets/shop-oncall-slack/url"
    assert yaml.safe_load(alertmanager_secret["alertmanager.yaml"]) == expected
    templates = alertmanager_source().parent / "templates"
    assert sorted(set(alertmanager_secret) - {"alertmanager.yaml"}) == sorted(
        p.name for p in templates.glob("*.tmpl")
    )
    for path in templates.glob("*.tmpl"):
        assert alertmanager_secret[path.name] == path.read_text(encoding="utf-8")


def test_amtool_accepts_the_rendered_configuration(
    alertmanager_secret: dict[str, str], tmp_path: Path
) -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is not on PATH (Debian's prometheus-alertmanager, scripts/bootstrap.sh)"
    config = yaml.safe_load(alertmanager_secret["alertmanager.yaml"])
    # The operator's folder, here: where the Secret's keys are on the pod.
    config["templates"] = [str(tmp_path / "*.tmpl")]
    for key, text in alertmanager_secret.items():
        (tmp_path / key).write_text(text, encoding="utf-8")
    (tmp_path / "alertmanager.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    done = subprocess.run(
        [amtool, "check-config", str(tmp_path / "alertmanager.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # amtool parses the templates the glob finds: the second SUCCESS is theirs.
    assert done.returncode == 0, done.stdout + done.stderr
    assert " - 1 templates\n  SUCCESS" in done.stdout, done.stdout


# --- images -------------------------------------------------------------------------------------


def _registry_ref(role: Role) -> str:
    """The local platform's tag of ``role`` in registry mode, as stormcheck.local.images plans it
    for a role built on its own pinned base (no Docker needed: the base is named, not built)."""
    assert role.registry_base, f"{role.name} is not built on a pinned registry base"
    return f"stormcheck/{role.name}:{role_hash(role, 'registry', role.registry_base)}"


def test_the_shop_runs_the_catalogue_image_from_the_ecr_registry(helm: Path) -> None:
    role = read_catalogue(catalogue_path(), ROOT).role("shop")
    ref = _registry_ref(role)
    tag = ref.rsplit(":", 1)[1]
    docs = rendered(
        helm, "shop", CHARTS_DIR / "shop" / "ci" / "eks-values.yaml",
        sets=(f"image.registry={ECR}", f"colors.blue.tag={tag}", f"colors.green.tag={tag}"),
    ).docs  # fmt: skip
    images = {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }
    assert images == dict.fromkeys(
        ["Deployment/r-shop-blue", "Deployment/r-shop-green", "Job/r-shop-migrate"], f"{ECR}/{ref}"
    )


def test_locust_runs_its_catalogue_image_from_the_ecr_registry(helm: Path) -> None:
    role = read_catalogue(CHARTS_DIR / "locust" / "catalogue.toml", ROOT).role("locust")
    ref = _registry_ref(role)
    docs = rendered(
        helm, "locust", ci_values("locust")[0],
        sets=(f"image.registry={ECR}", f"image.tag={ref.rsplit(':', 1)[1]}"),
    ).docs  # fmt: skip
    images = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"]
        for d in docs
        if d["kind"] == "Deployment"
    }
    assert images == {"r-locust-master": f"{ECR}/{ref}", "r-locust-worker": f"{ECR}/{ref}"}


def test_the_locust_image_carries_the_engine_modules_the_locustfiles_import() -> None:
    context = CHARTS_DIR / "locust" / "image"
    imported = set()
    for path in (ROOT / "load").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("from stormcheck."):
                imported.add(line.split()[1])
    for module in sorted(imported):
        linked = context / (module.replace(".", "/") + ".py")
        assert linked.resolve() == (ROOT / (module.replace(".", "/") + ".py")).resolve(), module
    assert (context / "stormcheck" / "__init__.py").is_symlink()


def _docker_ref(registry: str, repository: str, tag: str) -> str:
    ref = f"{repository}:{tag}"
    return ref if registry == "docker.io" else f"{registry}/{ref}"


def test_kube_prometheus_stack_runs_the_catalogues_official_images() -> None:
    catalogue = read_catalogue(catalogue_path(), ROOT)
    values = yaml.safe_load(KPS_VALUES.read_text(encoding="utf-8"))
    for role, spec in (
        ("prometheus", values["prometheus"]["prometheusSpec"]),
        ("alertmanager", values["alertmanager"]["alertmanagerSpec"]),
    ):
        image = spec["image"]
        assert _docker_ref(image["registry"], image["repository"], image["tag"]) == (
            catalogue.role(role).official
        ), role
