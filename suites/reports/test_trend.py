"""The trend across runs: drawn from the run store's figures, one point per run, oldest first,
and attached to the run's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stormcheck.reports.html import write_results_folder
from stormcheck.reports.trend import GATE_SERIES, TrendSource, trend_lines, write_trend
from stormcheck.runs import Lease, RunFolder, create_run
from stormcheck.runstore import open_store, store_path
from stormcheck.verdict import Evidence, Verdict, Window
from suites.reports.runs import RUN_ID, copy_run

pytestmark = pytest.mark.unit

DEAD = Lease(kind="process", pid=1, pid_start=0, boot_id="gone", host="elsewhere", heartbeat_ms=0)
PNG = b"\x89PNG\r\n\x1a\n"


def _run(runs_dir: Path, run_id: str, *, gate_budget: float, recover_s: float | None) -> RunFolder:
    """A finished run: one gate SLO verdict with its budget, one judged experiment."""
    folder, manifest = create_run(
        runs_dir, profile="local", stack="full", lease=DEAD, run_id=run_id
    )
    manifest.state = "down"
    folder.write_manifest(manifest)
    gate = Verdict.passed(
        "slo/checkout-availability",
        "availability 99.9% >= 99.5% over the gate window",
        Evidence(
            description="availability",
            window=Window(1_000, 61_000),
            observed=0.999,
            objective=0.995,
            budget_spent=gate_budget,
        ),
    )
    latency = Verdict.failed(
        "postgres_latency/latency",
        "p95 812 ms > 500 ms in the fault window",
        Evidence(description="p95 latency", observed=812.0, budget_spent=gate_budget * 3),
    )
    result = {
        "format": 1,
        "experiment": "postgres_latency",
        "title": "Does the shop survive a slow database?",
        "journal": "journals/postgres_latency.json",
        "verdicts": [latency.to_dict()],
        "met": True,
        "detect_s": 12.5,
        "recover_s": recover_s,
    }
    folder.resilience_dir.mkdir(exist_ok=True)
    (folder.resilience_dir / "postgres_latency.json").write_text(json.dumps(result))
    folder.write_verdicts([gate, latency])
    return folder


def _points(spec: dict[str, Any], panel: str) -> dict[str, list[list[Any]]]:
    (found,) = [p for p in spec["panels"] if p["name"] == panel]
    return {s["name"]: s["points"] for s in found["series"]}


IDS = ("20261201T000000Z-aaaaaa", "20261202T000000Z-bbbbbb", "20261203T000000Z-cccccc")


def test_the_spec_has_one_point_per_run_in_order_with_the_stored_values(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    budgets, recoveries, scores = (0.01, 0.2, 0.05), (9.0, None, 14.5), (100.0, 50.0, 75.0)
    folders = [
        _run(runs_dir, run_id, gate_budget=b, recover_s=r)
        for run_id, b, r in zip(IDS, budgets, recoveries, strict=True)
    ]
    later = _run(runs_dir, "20261204T000000Z-dddddd", gate_budget=0.5, recover_s=1.0)
    other = _run(runs_dir, "20261202T120000Z-eeeeee", gate_budget=0.9, recover_s=2.0)
    with open_store(runs_dir) as store:
        for folder, score in zip(folders[:2], scores[:2], strict=True):
            store.record(folder, plan="quick", score=score)
        store.record(later, plan="quick", score=10.0)
        store.record(other, plan="nightly", score=0.0)

    # the plan runner's report of the third run: recorded with its plan and score, then read
    history = TrendSource(runs_dir=runs_dir, plan="quick", score=scores[2]).read(folders[2])
    spec_path, png = write_trend(tmp_path / "plots", history)
    spec = json.loads(spec_path.read_text(encoding="utf-8"))

    assert [r["run_id"] for r in spec["runs"]] == list(IDS), "a later run and another plan's: not"
    assert (spec["run"], spec["plan"], spec["note"]) == (IDS[2], "quick", None)
    assert _points(spec, "score") == {"score": [[i, s] for i, s in zip(IDS, scores, strict=True)]}
    budget = _points(spec, "budget_spent")
    assert list(budget) == [GATE_SERIES, "postgres_latency"]
    assert [run_id for run_id, _ in budget[GATE_SERIES]] == list(IDS)
    assert [v for _, v in budget[GATE_SERIES]] == pytest.approx([b * 100 for b in budgets])
    assert [v for _, v in budget["postgres_latency"]] == pytest.approx([b * 300 for b in budgets])
    assert _points(spec, "recover") == {
        "postgres_latency": [[i, r] for i, r in zip(IDS, recoveries, strict=True)]
    }
    assert {p["name"]: p["unit"] for p in spec["panels"]} == {
        "score": "0-100",
        "budget_spent": "%",
        "recover": "s",
    }
    assert png.read_bytes()[:8] == PNG
    assert spec_path.parent == png.parent, "the specification lies beside its PNG"


def test_a_single_run_still_draws_one_point_and_says_so(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    folder = _run(runs_dir, IDS[0], gate_budget=0.02, recover_s=8.0)
    history = TrendSource(runs_dir=runs_dir).read(folder)  # `stormcheck report`: no plan
    spec_path, png = write_trend(tmp_path / "plots", history)
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    assert [r["run_id"] for r in spec["runs"]] == [IDS[0]]
    assert _points(spec, "score") == {"score": [[IDS[0], None]]}, "no plan ran it: no score"
    assert _points(spec, "recover") == {"postgres_latency": [[IDS[0], 8.0]]}
    assert "nothing to compare it with yet" in spec["note"]
    assert png.read_bytes()[:8] == PNG
    assert "nothing to compare it with yet" in trend_lines(history, Path("plots/trend.png"))[0]


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        data["fullName"]: data
        for data in (json.loads(p.read_text()) for p in directory.glob("*-result.json"))
    }


def test_the_reports_allure_results_carry_the_trend_of_the_runs_history(tmp_path: Path) -> None:
    runs_dir = tmp_path / "reports" / "runs"
    earlier = [
        _run(runs_dir, run_id, gate_budget=0.01 * n, recover_s=5.0 * n)
        for n, run_id in enumerate(IDS, 1)
    ]
    with open_store(runs_dir) as store:
        for n, folder in enumerate(earlier, 1):
            store.record(folder, plan="quick", score=25.0 * n)
    folder = RunFolder(copy_run(runs_dir))  # the kept real run, reported as the plan's fourth
    results_dir, plots, statuses, summary = write_results_folder(
        folder,
        tmp_path / "reports" / "allure-results",
        settings={},
        trend=TrendSource(runs_dir=runs_dir, plan="quick", score=80.0),
    )

    results = _results(results_dir)
    trend = results["trend.quick"]
    attachments = {a["name"]: a for a in trend["attachments"]}
    image = attachments["trend: score, budget spent and recovery per run"]
    assert image["type"] == "image/png"
    assert (results_dir / image["source"]).read_bytes()[:8] == PNG
    spec = json.loads((results_dir / attachments["trend plot specification"]["source"]).read_text())
    assert [r["run_id"] for r in spec["runs"]] == [*IDS, RUN_ID]
    assert _points(spec, "score")["score"][-1] == [RUN_ID, 80.0]
    assert {label["name"]: label["value"] for label in trend["labels"]}["epic"] == "trend"
    assert sum(statuses.values()) == len(results) - 1, "the trend is not counted as a verdict"
    assert (plots / "trend.png").read_bytes()[:8] == PNG
    assert "![trend: score, budget spent and recovery per run](plots/trend.png)" in summary
    assert "resilience score 25.0 → 50.0 → 75.0 → 80.0" in summary
    with open_store(runs_dir) as store:
        assert store.get(RUN_ID).plan == "quick", "the reported run is recorded in the store"


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda p: p.write_bytes(b"not a database, " * 64), "not a readable SQLite database"),
        (lambda p: p.mkdir(), "unable to open database file"),
    ],
    ids=["corrupt-file", "a-folder-in-its-place"],
)
def test_an_unreadable_store_omits_the_trend_with_a_line_saying_why(
    tmp_path: Path, spoil: Callable[[Path], object], why: str
) -> None:
    runs_dir = tmp_path / "reports" / "runs"
    folder = RunFolder(copy_run(runs_dir))
    store = store_path(runs_dir)
    spoil(store)
    results_dir, _, statuses, summary = write_results_folder(
        folder,
        tmp_path / "reports" / "allure-results",
        settings={},
        trend=TrendSource(runs_dir=runs_dir),
    )
    assert not any(name.startswith("trend.") for name in _results(results_dir))
    assert sum(statuses.values()) == len(_results(results_dir)), "the run's results are written"
    assert not (results_dir / "plots" / "trend.png").exists()
    (line,) = [line for line in summary.splitlines() if line.startswith("Trend across runs")]
    assert line.startswith(f"Trend across runs: omitted, run store {store}")
    assert why in line
