"""The plot of an experiment is drawn from a specification that matches the run's own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.reports.evidence import read_run
from stormcheck.reports.plots import plot_spec, write_plot
from stormcheck.runs import RunFolder
from suites.reports.runs import copy_run, epoch_ms, journal, timeline

pytestmark = pytest.mark.unit


def test_shaded_span_is_the_journals_fault_window_and_markers_the_sinks_receive_times(
    tmp_path: Path,
) -> None:
    folder = copy_run(tmp_path / "runs")
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    spec_path, png = write_plot(tmp_path / "plots", evidence.run_id, record, evidence.buckets)
    spec = json.loads(spec_path.read_text(encoding="utf-8"))

    raw = journal(folder)
    fault_start = epoch_ms(raw["run"][0]["start"])  # the method's kill action
    fault_end = epoch_ms(raw["rollbacks"][-1]["end"])  # the rollback that started pg-1 again
    assert spec["shaded"] == [
        {"label": "fault window", "start_ms": fault_start, "end_ms": fault_end}
    ], f"journal fault window {fault_start}..{fault_end}"

    received = [
        e["at_ms"]
        for e in timeline(folder)
        if e["kind"] == "alert_firing"
        and e["attrs"].get("source") == "alert-sink"
        and epoch_ms(raw["start"]) <= e["at_ms"] <= epoch_ms(raw["end"])
    ]
    assert received, "the kept run has alerts received by the sink during the experiment"
    assert [a["received_ms"] for a in spec["alerts"]] == received
    assert spec["recovery_ms"] is None, "no judge result in this run: recovery is not marked"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_series_come_from_the_request_log_one_bucket_per_second(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    spec = plot_spec(evidence.run_id, record, evidence.buckets)
    panels = {p["name"]: p for p in spec["panels"]}
    assert {p["unit"] for p in spec["panels"]} == {"ratio", "ms"}
    assert [s["name"] for s in panels["latency"]["series"]] == ["p50", "p95", "p99"]

    by_second: dict[int, list[bool]] = {}
    for line in (folder / "requests.jsonl").read_text(encoding="utf-8").splitlines():
        record_ = json.loads(line)
        by_second.setdefault(int(record_["intended_ms"] // 1000), []).append(record_["ok"])
    sli = dict(panels["sli"]["series"][0]["points"])
    assert sli, "the plot has data"
    for at_ms, value in sli.items():
        oks = by_second[at_ms // 1000]
        assert value == pytest.approx(sum(oks) / len(oks))
    # The kill shows: requests failed in the fault window, none before it.
    before = [v for t, v in sli.items() if t < record.fault_window.start_ms - 1000]
    during = [
        v for t, v in sli.items() if record.fault_window.start_ms <= t < record.fault_window.end_ms
    ]
    assert before and min(before) == 1.0
    assert min(during) < 0.5


def test_a_judge_result_gives_the_fault_window_and_the_recovery_instant(tmp_path: Path) -> None:
    folder = copy_run(tmp_path / "runs")
    raw = journal(folder)
    (path,) = sorted((folder / "journals").glob("*.json"))
    result = {
        "format": 1,
        "experiment": "postgres_primary_killed",
        "title": raw["experiment"]["title"],
        "journal": f"journals/{path.name}",
        "fault_window": {"start": "2026-12-03T11:36:03.449Z", "end": "2026-12-03T11:37:24.290Z"},
        "recovery_window": {"start": "2026-12-03T11:36:03.449Z", "end": "2026-12-03T11:37:19.096Z"},
        "verdicts": [],
        "met": True,
        "detect_s": 8.0,
        "recover_s": 12.5,
    }
    (folder / "resilience").mkdir()
    (folder / "resilience" / "postgres_primary_killed.json").write_text(json.dumps(result))
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    spec = plot_spec(evidence.run_id, record, evidence.buckets)
    start = epoch_ms("2026-12-03T11:36:03.449+00:00")
    assert spec["shaded"][0]["start_ms"] == start
    assert spec["shaded"][0]["end_ms"] == epoch_ms("2026-12-03T11:37:24.290+00:00")
    assert spec["recovery_ms"] == start + 12_500
