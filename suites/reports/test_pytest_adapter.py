"""pytest results in Allure carry the labels, links and attachments the engine's reports decide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stormcheck.paths import project_root
from suites.reports.runs import DATA, RUN_ID

pytestmark = pytest.mark.unit

TESTS = f"""
import pytest
from pathlib import Path

pytestmark = pytest.mark.unit

def test_gate_holds(report_evidence):
    report_evidence.text("connection", "postgresql://shop:hunter2@db:5432/shop")

def test_replays_an_experiment(report_evidence, tmp_path):
    report_evidence.experiment(Path({str(DATA / RUN_ID)!r}), "postgres_primary_killed", tmp_path)
"""


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    results = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return {str(r["name"]): r for r in results}


def test_pytest_results_get_the_reports_labels_and_redacted_attachments(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_root()
    pytester.makeconftest((root / "conftest.py").read_text(encoding="utf-8"))
    pytester.makefile(
        ".ini",
        pytest=(root / "pytest.ini")
        .read_text(encoding="utf-8")
        .replace("testpaths = suites\n", ""),
    )
    pytester.makepyfile(test_adapter=TESTS)
    monkeypatch.syspath_prepend(str(root))
    out = tmp_path / "allure"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--alluredir={out}", "--profile=local", timeout=120
    )
    result.assert_outcomes(passed=2)

    results = _results(out)
    gate = results["test_gate_holds"]
    labels = {(item["name"], item["value"]) for item in gate["labels"]}
    assert {
        ("epic", "test_adapter"),
        ("feature", "adapter"),
        ("story", "test_gate_holds"),
        ("severity", "minor"),
        ("profile", "local"),
        ("zone", "all"),
    } <= labels, labels
    (attachment,) = gate["attachments"]
    text = (out / attachment["source"]).read_text()
    assert "hunter2" not in text and "shop:***@db" in text

    replay = results["test_replays_an_experiment"]
    names = {item["name"] for item in replay["attachments"]}
    assert {
        "plot: SLI, latency and error ratio",
        "Chaos Toolkit journal",
        "SLO evidence table",
        "snapshot diff",
        "Locust stats",
    } <= names
    links = {item["name"] for item in replay["links"]}
    assert {"experiment file", "runbook"} <= links


def test_without_alluredir_the_adapter_writes_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project_root()
    pytester.makeconftest((root / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_quiet="""
import pytest

@pytest.mark.unit
def test_text(report_evidence):
    assert not report_evidence.active
    report_evidence.text("x", "y")
"""
    )
    monkeypatch.syspath_prepend(str(root))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("*-result.json"))
