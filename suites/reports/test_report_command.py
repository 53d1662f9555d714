"""`stormcheck report` on bad input: one clear line, a non-zero exit, no traceback, nothing deleted."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from suites.reports.runs import RUN_ID, copy_run

pytestmark = pytest.mark.unit


def _report(runs_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stormcheck", "--set", f"runs_dir={runs_dir}", "report", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _with_previous_report(tmp_path: Path) -> tuple[Path, Path]:
    """A run folder and a previous report's results of it, both of which must survive."""
    runs = tmp_path / "reports" / "runs"
    folder = copy_run(runs)
    previous = tmp_path / "reports" / "allure-results" / RUN_ID
    previous.mkdir(parents=True)
    (previous / "earlier-result.json").write_text("{}")
    return runs, folder


def test_an_unknown_run_is_one_line(tmp_path: Path) -> None:
    runs, _ = _with_previous_report(tmp_path)
    before = _tree(tmp_path)
    line = _one_clear_line(_report(runs, "20991231T000000Z-nosuch", "--no-html"), "nosuch")
    assert "no run" in line
    assert _tree(tmp_path) == before


def test_a_truncated_journal_is_one_line_naming_it(tmp_path: Path) -> None:
    runs, folder = _with_previous_report(tmp_path)
    (journal,) = (folder / "journals").glob("*.json")
    text = journal.read_text()
    journal.write_text(text[: len(text) // 2])
    before = _tree(tmp_path)
    _one_clear_line(
        _report(runs, RUN_ID, "--no-html"), journal.name, "truncated", "Chaos Toolkit journal"
    )
    assert _tree(tmp_path) == before


def test_a_truncated_verdict_file_is_one_line_naming_it(tmp_path: Path) -> None:
    runs, folder = _with_previous_report(tmp_path)
    verdict = {"name": "checkout-availability", "outcome": "pass", "reason": "SLI 1 >= 0.99"}
    (folder / "verdicts.json").write_text(json.dumps([verdict, verdict], indent=2)[:-40])
    before = _tree(tmp_path)
    _one_clear_line(_report(runs, RUN_ID, "--no-html"), "verdicts.json", "truncated")
    assert _tree(tmp_path) == before


def test_a_verdict_without_its_fields_names_the_entry(tmp_path: Path) -> None:
    runs, folder = _with_previous_report(tmp_path)
    (folder / "verdicts.json").write_text(json.dumps([{"name": "x", "outcome": "maybe"}]))
    before = _tree(tmp_path)
    _one_clear_line(_report(runs, RUN_ID, "--no-html"), "verdicts.json[0]")
    assert _tree(tmp_path) == before


def test_a_good_run_gives_results_and_a_summary(tmp_path: Path) -> None:
    runs, _ = _with_previous_report(tmp_path)
    result = _report(runs, RUN_ID, "--no-html")
    assert result.returncode == 0, result.stderr
    assert "| Does checkout survive losing the PostgreSQL primary? | ✅ pass |" in result.stdout
    assert "not judged" in result.stdout
    folder = tmp_path / "reports" / "allure-results" / RUN_ID
    assert not (folder / "earlier-result.json").exists(), "the run's results are replaced"
    verdicts = json.loads((runs / RUN_ID / "verdicts.json").read_text())
    assert len(list(folder.glob("*-result.json"))) == 1 + len(verdicts) + 1, "and the trend"
    checkout = next(v for v in verdicts if v["name"] == "slo/checkout-availability")
    spent = checkout["evidence"][0]["budget_spent"]
    assert f"| slo/checkout-availability | ❌ fail | {spent:.2%} |" in result.stdout
    assert {"categories.json", "environment.properties", "executor.json"} <= {
        p.name for p in folder.iterdir()
    }
    environment = (folder / "environment.properties").read_text()
    assert f"run={RUN_ID}" in environment and "profile=local" in environment
    assert json.loads((folder / "executor.json").read_text())["buildName"] == f"run {RUN_ID}"
    assert "Trend across the last 1 run(s) of every plan" in result.stdout
    assert "](plots/trend.png)" in result.stdout and (folder / "plots" / "trend.png").is_file()
    assert (tmp_path / "reports" / "runstore.sqlite").is_file(), "the run is recorded first"
