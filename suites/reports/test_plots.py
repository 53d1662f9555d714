"""The plot of an experiment is drawn from a specification that matches the run's own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.reports.evidence import read_run
from stormcheck.reports.plots import plot_spec, write_plot
from stormcheck.runs import RunFolder
from suites.reports.runs import add_judged, copy_run, epoch_ms, journal, timeline

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
    judged = add_judged(folder)
    evidence = read_run(RunFolder(folder))
    (record,) = evidence.experiments
    spec = plot_spec(evidence.run_id, record, evidence.buckets)
    start = epoch_ms(judged["fault_window"]["start"].replace("Z", "+00:00"))
    end = epoch_ms(judged["fault_window"]["end"].replace("Z", "+00:00"))
    assert spec["shaded"] == [{"label": "fault window", "start_ms": start, "end_ms": end}]
    assert judged["expected"]["fault"] == "kill", "recovery counts from the injection"
    assert spec["recovery_ms"] == start + round(judged["recover_s"] * 1000)


def test_the_recovery_instant_counts_from_the_instant_the_judge_recorded(tmp_path: Path) -> None:
    # A duration fault's window ends after the revert plus the recovery its row allows, so the
    # recovery instant is not the window's end: the judge writes the instant it counted from.
    folder = copy_run(tmp_path / "runs")
    judged = add_judged(folder)
    start = epoch_ms(judged["fault_window"]["start"].replace("Z", "+00:00"))
    judged["recover_from"] = "2025-01-01T00:00:00.000Z"
    judged["recover_s"] = 2.5
    path = folder / "resilience" / "postgres_primary_killed.json"
    path.write_text(json.dumps(judged), encoding="utf-8")
    (record,) = read_run(RunFolder(folder)).experiments
    assert record.recovery_ms == epoch_ms("2025-01-01T00:00:00+00:00") + 2500 != start + 2500

    judged["recover_from"] = "yesterday"
    path.write_text(json.dumps(judged), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"postgres_primary_killed.json: recover_from"):
        read_run(RunFolder(folder))
