"""The one rule source is valid and tested: promtool and amtool on the real files.

- ``promtool check rules`` on every rule file, ``promtool check config`` on the Prometheus
  configuration rendered for the full and the minimal stack (with the rule files beside it);
- ``promtool test rules``: every alert rule has a case where it fires and one where it stays quiet
  (checked by reading the test documents, not by trusting them), and a wrong expectation fails;
- ``amtool check-config`` on the source and the local rendering; ``amtool config routes test``
  for each severity;
- every detection alert has severity, summary and a runbook; every runbook has its five sections
  (what it means, how to confirm, how to mitigate, how to verify, how to escalate), each with
  content, and no unrendered template text or placeholder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stormcheck.local.stacks import STACK_COMPONENTS
from stormcheck.observability.config import (
    alertmanager_source,
    render_alertmanager_config,
    render_prometheus_config,
)
from stormcheck.observability.rules import AlertRule, observability_dir, read_rules, rule_files
from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slos, slo_files

from .promtool_cases import SLO_SERIES, load_test_document, slo_test_document

pytestmark = pytest.mark.static

OBS = observability_dir()
DETECTION_TESTS = OBS / "tests" / "detection.test.yml"
SLO_RULES = OBS / "rules" / "slo.rules.yml"
OBSERVABILITY_COMPONENTS = ("alertmanager", "postgres-exporter", "redis-exporter", "prometheus")


def _tool(name: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(name)
    if binary is None:
        pytest.fail(
            f"{name} is not on PATH: install Debian's `prometheus` and `prometheus-alertmanager`"
            " packages (scripts/bootstrap.sh)",
            pytrace=False,
        )
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def _slo_document(tmp_path: Path) -> Path:
    alerts = list(read_rules([SLO_RULES]).alerts)
    objectives = {
        s.name: s.objective for s in read_slos(slo_files([project_root() / "platform" / "slo"]))
    }
    path = tmp_path / "slo.test.yml"
    path.write_text(
        yaml.safe_dump(slo_test_document(SLO_RULES, alerts, objectives), sort_keys=False),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("rules", rule_files(), ids=lambda p: p.name)
def test_promtool_check_rules(rules: Path) -> None:
    done = _tool("promtool", "check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("stack", sorted(STACK_COMPONENTS))
def test_promtool_check_config_of_the_rendered_configuration(stack: str, tmp_path: Path) -> None:
    config = yaml.safe_load(
        render_prometheus_config({*STACK_COMPONENTS[stack], *OBSERVABILITY_COMPONENTS})
    )
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for rules in rule_files():
        shutil.copy(rules, rules_dir / rules.name)
    config["rule_files"] = [str(rules_dir / "*.rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _tool("promtool", "check", "config", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_files())} rule files found" in done.stdout
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"prometheus", "alertmanager", "shop", "postgres", "redis"} <= jobs
    assert ("ingress" in jobs) == (stack == "full")


def test_promtool_test_rules_of_the_detection_alerts() -> None:
    done = _tool("promtool", "test", "rules", DETECTION_TESTS.name, cwd=DETECTION_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_test_rules_of_every_slo_burn_rate_alert(tmp_path: Path) -> None:
    done = _tool("promtool", "test", "rules", str(_slo_document(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_makes_promtool_fail(tmp_path: Path) -> None:
    # the negative control: claim the quiet ingress case fires
    document = load_test_document(DETECTION_TESTS)
    document["rule_files"] = [str(OBS / "rules" / "detection.rules.yml")]
    quiet = next(t for t in document["tests"] if t["name"].startswith("ingress without 5xx"))
    firing = next(t for t in document["tests"] if t["name"].startswith("ingress 5xx at 50%"))
    quiet["alert_rule_test"][0]["exp_alerts"] = firing["alert_rule_test"][0]["exp_alerts"]
    path = tmp_path / "wrong.test.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    done = _tool("promtool", "test", "rules", str(path))
    assert done.returncode != 0, done.stdout


def _covered(
    alert: AlertRule, documents: list[dict[str, Any]], source: set[str]
) -> tuple[bool, bool]:
    fires = quiet = False
    for document in documents:
        for group in document["tests"]:
            inputs = {s["series"].split("{")[0] for s in group.get("input_series", [])}
            for case in group.get("alert_rule_test", []):
                if case["alertname"] != alert.name:
                    continue
                mine = [
                    e
                    for e in case.get("exp_alerts") or []
                    if all(e.get("exp_labels", {}).get(k) == v for k, v in alert.labels.items())
                ]
                fires = fires or bool(mine)
                quiet = quiet or (not mine and bool(inputs & source))
    return fires, quiet


def test_every_alert_rule_has_a_firing_and_a_quiet_case(tmp_path: Path) -> None:
    rules = read_rules()
    documents = [load_test_document(DETECTION_TESTS), load_test_document(_slo_document(tmp_path))]
    missing = []
    for alert in rules.alerts:
        fires, quiet = _covered(alert, documents, rules.source_metrics(alert.expr))
        label = f"{alert.name}{dict(alert.labels)}"
        if alert.name == "SLOErrorBudgetBurn" and alert.labels["slo"] not in SLO_SERIES:
            missing.append(
                f"{label}: no series for this SLO in suites/observability/promtool_cases.py"
            )
        if not fires:
            missing.append(f"{label}: no case where it fires")
        if not quiet:
            missing.append(f"{label}: no case where it stays quiet with its input present")
    assert not missing, "\n".join(missing)


RUNBOOKS = project_root() / "docs" / "runbooks"
RUNBOOK_SECTIONS = (
    "What it means",
    "How to confirm",
    "How to mitigate",
    "How to verify",
    "How to escalate",
)
# Alertmanager/Prometheus template text, and words that mark an unfinished page.
UNFINISHED = re.compile(r"\{\{|\bTODO\b|\bTBD\b|\bFIXME\b|\bXXX\b|skeleton", re.IGNORECASE)
MIN_SECTION_WORDS = 15


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"(?m)^## ", text)[1:]
    return {p.split("\n", 1)[0].strip(): p.split("\n", 1)[1] if "\n" in p else "" for p in parts}


def runbook_problems(name: str, text: str) -> list[str]:
    """What is missing or unfinished in the runbook ``name`` (empty: it is complete)."""
    problems = [
        f"{name}: line {number} holds {found.group(0)!r}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if (found := UNFINISHED.search(line))
    ]
    sections = _sections(text)
    for section in RUNBOOK_SECTIONS:
        if section not in sections:
            problems.append(f"{name}: no section '## {section}'")
            continue
        words = len(re.findall(r"\w+", sections[section]))
        if words < MIN_SECTION_WORDS:
            problems.append(
                f"{name}: section {section!r} has {words} words, want {MIN_SECTION_WORDS}+"
            )
    return problems


def test_every_detection_alert_is_labelled_and_has_a_runbook() -> None:
    problems = []
    for alert in read_rules().alerts:
        runbook = RUNBOOKS / f"{alert.name}.md"
        if not runbook.is_file():
            problems.append(f"{alert.name}: no runbook at {runbook}")
        if alert.severity not in ("page", "ticket"):
            problems.append(f"{alert.name}: severity {alert.severity!r}, want page or ticket")
        if not alert.annotations.get("summary"):
            problems.append(f"{alert.name}: no summary")
        if alert.annotations.get("runbook_url") != f"docs/runbooks/{alert.name}.md":
            problems.append(f"{alert.name}: runbook_url {alert.annotations.get('runbook_url')!r}")
        # the generated burn-rate alerts keep their own `for`; detection alerts hold 10 s
        if alert.file.name != SLO_RULES.name and alert.for_ != "10s":
            problems.append(f"{alert.name}: detection alerts hold `for: 10s`, not {alert.for_}")
    assert not problems, "\n".join(problems)


def test_every_runbook_is_complete_and_shows_no_template_text() -> None:
    runbooks = sorted(p for p in RUNBOOKS.glob("*.md") if p.name != "README.md")
    alerts = {alert.name for alert in read_rules().alerts}
    assert {p.stem for p in runbooks} == alerts, "a runbook per alert, and none without one"
    problems = [
        problem
        for path in runbooks
        for problem in runbook_problems(path.name, path.read_text(encoding="utf-8"))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("flaw", "expected"),
    [
        ("{{ $value | humanizePercentage }} of requests failed.", "holds '{{'"),
        ("- TODO: the first safe actions.", "holds 'TODO'"),
        ("- TBD", "holds 'TBD'"),
        ("", "section 'How to verify' has 0 words"),
    ],
    ids=["template-text", "todo", "tbd", "empty-section"],
)
def test_an_unfinished_runbook_is_reported(flaw: str, expected: str) -> None:
    # the negative control: a complete runbook with one flaw put in its verify section
    text = (RUNBOOKS / "PostgresNoPrimary.md").read_text(encoding="utf-8")
    assert runbook_problems("PostgresNoPrimary.md", text) == []
    head, rest = text.split("## How to verify\n", 1)
    tail = rest[rest.index("## How to escalate") :]
    broken = f"{head}## How to verify\n\n{flaw}\n\n{tail}"
    problems = runbook_problems("PostgresNoPrimary.md", broken)
    assert any(expected in p for p in problems), problems


def _amtool_config(tmp_path: Path, text: str) -> Path:
    shutil.copytree(alertmanager_source().parent / "templates", tmp_path / "templates")
    path = tmp_path / "alertmanager.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("rendering", ["source", "local"])
def test_amtool_check_config(rendering: str, tmp_path: Path) -> None:
    text = (
        alertmanager_source().read_text(encoding="utf-8")
        if rendering == "source"
        else render_alertmanager_config("http://172.18.0.1:40000/alerts")
    )
    done = _tool("amtool", "check-config", str(_amtool_config(tmp_path, text)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 templates" in done.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("severity=page", "alertname=ShopNoHealthyReplica"), "page"),
        (("severity=page", "alertname=SLOErrorBudgetBurn", "slo=checkout-availability"), "page"),
        (("severity=ticket", "alertname=InstanceDown"), "ticket"),
        (("severity=info", "alertname=Something"), "default"),
        (("alertname=NoSeverity",), "default"),
    ],
    ids=["page", "slo-page", "ticket", "other-severity", "no-severity"],
)
@pytest.mark.parametrize("rendering", ["source", "local"])
def test_amtool_routes_each_severity(
    labels: tuple[str, ...], receiver: str, rendering: str, tmp_path: Path
) -> None:
    text = (
        alertmanager_source().read_text(encoding="utf-8")
        if rendering == "source"
        else render_alertmanager_config("http://172.18.0.1:40000/alerts")
    )
    path = _amtool_config(tmp_path, text)
    done = _tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        f"--verify.receivers={receiver}",
        *labels,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == receiver


def test_amtool_routes_test_fails_on_a_wrong_receiver(tmp_path: Path) -> None:
    path = _amtool_config(tmp_path, alertmanager_source().read_text(encoding="utf-8"))
    done = _tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={path}",
        "--verify.receivers=ticket",
        "severity=page",
    )
    assert done.returncode != 0, done.stdout


def test_every_local_receiver_goes_to_the_sink_only() -> None:
    config = yaml.safe_load(render_alertmanager_config("http://10.0.0.1:1/alerts"))
    source = yaml.safe_load(alertmanager_source().read_text(encoding="utf-8"))
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in source["receivers"]]
    for receiver in config["receivers"]:
        assert set(receiver) == {"name", "webhook_configs"}, receiver
        assert {h["url"] for h in receiver["webhook_configs"]} == {"http://10.0.0.1:1/alerts"}
        assert all(h["send_resolved"] for h in receiver["webhook_configs"])
    assert config["route"]["group_wait"] == "5s"
    # the source keeps Slack and e-mail for the real profiles
    kinds = {k for r in source["receivers"] for k in r if k.endswith("_configs")}
    assert kinds == {"webhook_configs", "slack_configs", "email_configs"}
