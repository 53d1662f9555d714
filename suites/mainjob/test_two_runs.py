"""Two consecutive ``stormcheck run``s build history: two rows in the run store, the second
report's Allure history trend holds both runs, and its trend plot shows both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.paths import project_root
from stormcheck.runstore import open_store

pytestmark = pytest.mark.slow


@pytest.mark.timeout(3600)  # two quick plans, about 8 min each (pytest.ini's 600 s is one test's)
def test_two_consecutive_runs_leave_two_rows_a_two_entry_history_and_a_two_run_trend(
    tmp_path: Path,
) -> None:
    runs_dir = tmp_path / "runs"
    codes = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "stormcheck", "--set", f"runs_dir={runs_dir}", "run"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        codes.append((done.returncode, done.stdout[-3000:]))
    assert [code for code, _ in codes] == [0, 0], codes
    with open_store(runs_dir) as store:
        stored = store.runs()
    assert [(r.plan, r.exit_code) for r in stored] == [("quick", 0), ("quick", 0)]
    assert all(r.score is not None for r in stored)
    trend = json.loads(
        (tmp_path / "allure-report" / "history" / "history-trend.json").read_text(encoding="utf-8")
    )
    assert len(trend) == 2, trend
    second = stored[1].run_id
    spec = json.loads(
        (tmp_path / "allure-results" / second / "plots" / "trend.plot.json").read_text(
            encoding="utf-8"
        )
    )
    assert [r["run_id"] for r in spec["runs"]] == [r.run_id for r in stored], spec["runs"]
    assert spec["plan"] == "quick"
    panels = {p["name"]: p for p in spec["panels"]}
    (scores,) = [s["points"] for s in panels["score"]["series"] if s["name"] == "score"]
    assert scores == [[r.run_id, r.score] for r in stored], "the trend's scores are the store's"
    png = tmp_path / "allure-results" / second / "plots" / "trend.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the plot is drawn from that spec"
    assert "](plots/trend.png)" in (tmp_path / "allure-results" / second / "summary.md").read_text(
        encoding="utf-8"
    )
    assert "HTML report: " + str(tmp_path / "allure-report" / "index.html") in codes[1][1]
