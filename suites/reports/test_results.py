"""Allure result files written by the engine: labels, links, attachments, redaction, categories."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from stormcheck.errors import ConfigError
from stormcheck.reports.evidence import read_run
from stormcheck.reports.html import categories_path
from stormcheck.reports.results import (
    Attachment,
    experiment_result,
    labels_for_test,
    result_labels,
    verdict_result,
    write_results,
)
from stormcheck.reports.results import _experiment_status as _status
from stormcheck.reports.summary import markdown_summary
from stormcheck.runs import RunFolder
from stormcheck.verdict import Evidence, SliEvidence, Verdict, Window
from suites.reports.runs import add_judged, copy_run

pytestmark = pytest.mark.unit

LABELS = {"epic", "feature", "story", "severity", "profile", "zone"}


def _results(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*-result.json"))]


def test_an_experiment_result_has_every_label_link_and_attachment(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    result = experiment_result(evidence, record, tmp_path / "plots")
    out = tmp_path / "results"
    write_results([result], out, container="run")

    (data,) = _results(out)
    labels = {item["name"]: item["value"] for item in data["labels"]}
    assert set(labels) >= LABELS
    assert labels["epic"] == "resilience"
    assert labels["feature"] == "postgres_primary_killed"
    assert labels["story"] == "kill pg-1"
    assert labels["zone"] == "a", "pg-1 runs in zone a in the kept run's manifest"
    assert labels["severity"] == "critical", "availability and integrity contributions are high"
    assert data["status"] == "passed", data["statusDetails"]
    links = {item["name"]: item["url"] for item in data["links"]}
    assert links["experiment file"] == "experiments/local/postgres_primary_killed.yaml"
    assert Path(links["runbook"]).name == f"{record.alerts[0].name}.md"
    assert (Path(__file__).parents[2] / links["runbook"]).is_file()
    attachments = {item["name"]: item for item in data["attachments"]}
    for name in (
        "plot: SLI, latency and error ratio",
        "SLO evidence table",
        "Chaos Toolkit journal",
        "snapshot diff",
        "Locust stats",
    ):
        assert (out / attachments[name]["source"]).is_file(), name
    assert attachments["plot: SLI, latency and error ratio"]["type"] == "image/png"
    journal = json.loads((out / attachments["Chaos Toolkit journal"]["source"]).read_text())
    assert journal["experiment"]["title"] == record.title
    table = (out / attachments["SLO evidence table"]["source"]).read_text()
    assert "checkout-availability-not-failing" in table and "pass" in table
    (container,) = [json.loads(p.read_text()) for p in out.glob("*-container.json")]
    assert container["children"] == [data["uuid"]]


def test_attachments_are_redacted() -> None:
    text = "dsn postgresql://shop:hunter2@db:5432/shop and password=hunter2 token: abc123"
    content = Attachment.text("log", text).content.decode()
    assert "hunter2" not in content and "abc123" not in content
    assert "postgresql://shop:***@db:5432/shop" in content


def test_labels_of_a_pytest_test_follow_its_suite_and_tier() -> None:
    labels = dict(
        labels_for_test(
            "suites/slo/test_gate.py::test_gate_fails[checkout]", ["e2e"], profile="local"
        )
    )
    assert labels == {
        "epic": "slo",
        "feature": "gate",
        "story": "test_gate_fails",
        "severity": "critical",
        "profile": "local",
        "zone": "all",
    }
    with pytest.raises(ValueError, match="severity 'urgent'"):
        result_labels(
            area="a", feature="f", story="s", severity="urgent", profile="local", zone="a"
        )


def _category(categories: list[dict[str, Any]], status: str, message: str) -> str | None:
    """The first category matching, as Allure matches them (the whole message, in order)."""
    for category in categories:
        if status not in category.get("matchedStatuses", ["failed", "broken"]):
            continue
        regex = category.get("messageRegex")
        if regex is None or re.fullmatch(str(regex), message):
            return str(category["name"])
    return None


@pytest.mark.parametrize(
    ("status", "message", "category"),
    [
        ("failed", "SLO breach: checkout-availability: 0.97 < 0.99", "SLO breach"),
        ("failed", "checkout-availability: FAIL - 0.97 < 0.99", "SLO breach"),
        ("failed", "recovery too slow: recover: 61 s > 45 s", "Recovery too slow"),
        ("failed", "integrity violated: integrity: 2 keys with two orders", "Integrity violated"),
        ("broken", "inconclusive: no data: checkout-latency: no samples", "Inconclusive: no data"),
        ("broken", "platform not ready: not met before the method", "Platform not ready"),
        ("broken", "stormcheck.errors.NotReadyError: pg-1 not ready in 60 s", "Platform not ready"),
        ("broken", "harness error: action kill failed", "Harness error"),
        ("broken", "KeyError: 'x'", "Harness error"),
        ("failed", "AssertionError: 3 != 4", None),
    ],
)
def test_categories_classify_the_reports_messages(
    status: str, message: str, category: str | None
) -> None:
    categories = json.loads(categories_path().read_text())
    assert _category(categories, status, message) == category


def test_verdict_results_carry_the_slo_file_and_budget(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    verdict = Verdict.failed(
        "checkout-availability",
        "SLI 0.9 below objective 0.99",
        Evidence(
            description="ingress success ratio",
            source="prometheus",
            window=Window(1, 2),
            observed=0.9,
            objective=0.99,
            budget_spent=0.02,
            sli=SliEvidence(slo_file="platform/slo/checkout.yaml"),
        ),
    )
    result = verdict_result(read_run(RunFolder(folder)), verdict)
    assert result.status == "failed" and result.message.startswith("SLO breach: ")
    assert [link.url for link in result.links] == ["platform/slo/checkout.yaml"]
    assert dict(result.labels)["feature"] == "checkout-availability"
    assert dict(result.labels)["story"] == "prometheus"


def test_the_log_sample_is_the_retained_documents_of_the_fault_window_errors_first(
    tmp_path: Path,
) -> None:
    folder = copy_run(tmp_path / "runs")
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    start, end = record.fault_window.start_ms, record.fault_window.end_ms
    refused = "db postgresql://shop:hunter2@pg-1/shop refused"
    documents = [
        {"@ms": start - 5000, "_source": {"level": "error", "message": "before the fault"}},
        {"@ms": start + 1000, "_source": {"level": "info", "message": "GET /health 200"}},
        {"@ms": start + 2000, "_source": {"level": "error", "message": refused}},
        {"@ms": end + 5000, "_source": {"level": "error", "message": "after the fault"}},
    ]
    logs = folder / "evidence" / "logs"
    logs.mkdir(parents=True)
    with gzip.open(logs / "documents.ndjson.gz", "wt") as handle:
        for n, doc in enumerate(documents):
            handle.write(json.dumps({"_index": "logs-2026.12.03", "_id": str(n), **doc}) + "\n")
    result = experiment_result(evidence, record, tmp_path / "p")
    attachments = {a.name: a for a in result.attachments}
    text = attachments["log lines in the fault window (sample)"].content.decode()
    lines = text.splitlines()
    assert lines[0].startswith("2 of 2 log documents in the fault window"), lines
    assert "GET /health" in lines[1] and "refused" in lines[2], lines
    assert "hunter2" not in text


def test_a_corrupt_log_document_file_is_one_located_error(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    logs = folder / "evidence" / "logs"
    logs.mkdir(parents=True)
    with gzip.open(logs / "documents.ndjson.gz", "wt") as handle:
        handle.write('{"@ms": 1, "_source": {}}\n{"_id": "no time"}\n')
    evidence = read_run(RunFolder(folder))
    with pytest.raises(ConfigError, match=r"documents.ndjson.gz:2: expected a log document"):
        experiment_result(evidence, evidence.experiments[0], tmp_path / "p")


def test_a_judged_experiment_carries_the_judges_status_figures_and_runbook(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    judged = add_judged(folder)
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    result = experiment_result(evidence, record, tmp_path / "plots")
    missed = [v["name"] for v in judged["verdicts"] if not v["met"]]
    assert missed and judged["met"] is False
    # Its misses are all unmeasured (no Prometheus after down): inconclusive, not a breach.
    assert result.status == "broken"
    assert result.message.startswith("inconclusive: no data: ")
    assert all(name in result.message for name in missed)
    assert {link.name: link.url for link in result.links}["runbook"] == judged["runbook"]
    names = {a.name for a in result.attachments}
    assert "resilience result" in names
    summary = markdown_summary(evidence, [result])
    row = next(line for line in summary.splitlines() if line.startswith(f"| {record.title}"))
    spent = judged["budget_spent"]["client-availability"]["fault"]
    assert f"client-availability {spent:.2%}" in row
    assert f"| {judged['detect_s']:.1f} s | {judged['recover_s']:.1f} s |" in row


@pytest.mark.parametrize(
    ("check", "prefix"),
    [
        ("integrity", "integrity violated: "),
        ("recover", "recovery too slow: "),
        ("client-availability@recovery", "SLO breach: "),
    ],
)
def test_a_judged_miss_that_failed_is_sorted_by_what_failed(
    tmp_path: Path, check: str, prefix: str
) -> None:
    folder = copy_run(tmp_path / "runs")
    judged = add_judged(folder)
    for verdict in judged["verdicts"]:
        if verdict["name"].endswith(f"/{check}"):
            verdict.update(outcome="fail", met=False, reason="over its limit")
    path = folder / "resilience" / "postgres_primary_killed.json"
    path.write_text(json.dumps(judged))
    evidence = read_run(RunFolder(folder))
    status, message = _status(evidence.experiments[0])
    assert status == "failed"
    assert message.startswith(prefix), message
    assert f"/{check}: fail: over its limit" in message


def test_an_experiment_the_judge_found_not_ready_is_reported_on_its_journals_window(
    tmp_path: Path,
) -> None:
    # Nothing was injected (the steady state failed before the method): the judge writes no fault
    # window, and the report still shows the experiment, as inconclusive, over its journal.
    folder = copy_run(tmp_path / "runs")
    judged = add_judged(folder)
    judged.update(fault_window=None, recovery_window=None, recover_s=None, outcome="inconclusive")
    path = folder / "resilience" / "postgres_primary_killed.json"
    path.write_text(json.dumps(judged))
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    assert record.window.start_ms <= record.fault_window.start_ms < record.fault_window.end_ms
    assert record.fault_window.end_ms <= record.window.end_ms
    assert experiment_result(evidence, record, tmp_path / "plots").status == "broken"


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (("pass", "pass"), "passed"),
        (("pass", "fail"), "failed"),
        (("inconclusive", "pass"), "broken"),
    ],
)
def test_an_experiment_the_run_judged_itself_takes_its_status_from_those_verdicts(
    tmp_path: Path, outcomes: tuple[str, str], status: str
) -> None:
    # The canary's journal is always interrupted (its stop condition aborts it): the run's own
    # verdicts on it (aborted in time, nothing left behind) decide, not the journal.
    folder = copy_run(tmp_path / "runs")
    path = folder / "verdicts.json"
    verdicts = json.loads(path.read_text())
    stem = read_run(RunFolder(folder)).experiments[0].stem
    for check, outcome in zip(("aborted", "snapshot-diff"), outcomes, strict=True):
        verdicts.append({"name": f"{stem}/{check}", "outcome": outcome, "reason": "planted"})
    path.write_text(json.dumps(verdicts))
    evidence = read_run(RunFolder(folder))
    result = experiment_result(evidence, evidence.experiments[0], tmp_path / "plots")
    assert result.status == status, result.message
    assert f"{stem}/aborted: {outcomes[0]}" in result.message
