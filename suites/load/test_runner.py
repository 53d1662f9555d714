"""The engine's runner against the local platform: one log, Locust's counts, honest latency, intact orders."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest
from docker.models.containers import Container

from stormcheck.load.analysis import arrival_rate, summarise
from stormcheck.load.integrity import judge_checkout_integrity
from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadPlan, LoadResult, run_load
from stormcheck.load.scenarios import scenario
from stormcheck.load.shape_file import resolve_shape
from stormcheck.load.thresholds import Thresholds
from stormcheck.testing import PlatformRun
from stormcheck.verdict import Outcome
from suites.load.checks import assert_log_matches_locust

pytestmark = pytest.mark.integration


def test_open_model_log_matches_locust_and_every_order_is_accounted_for(
    local_platform: PlatformRun, tmp_path: Path
) -> None:
    plan = LoadPlan(
        scenario=scenario("shop-open"),
        host=local_platform.manifest.endpoint("shop-1", "api"),
        duration_s=12,
        rate=30,
        thresholds=Thresholds(p95_ms=1000.0),
    )
    result = run_load(plan, tmp_path)
    assert result.exit_code == 0, (tmp_path / "locust.log").read_text()[-3000:]
    assert_log_matches_locust(result)
    records = read_request_log(result.request_log)
    assert arrival_rate(records, basis="sent") == pytest.approx(30, rel=0.05)
    assert all(r.request_id for r in records), "every request carries its X-Request-ID"
    integrity = judge_checkout_integrity(records, local_platform.manifest.endpoint("postgres"))
    assert integrity.outcome is Outcome.PASS, integrity.explain()
    assert integrity.evidence[0].details["definitive_successes"] > 0, integrity.explain()
    assert result.cpu.samples, "the generator's CPU was not sampled"


def test_master_and_two_workers_give_one_merged_log(
    local_platform: PlatformRun, tmp_path: Path
) -> None:
    plan = LoadPlan(
        scenario=scenario("shop-open"),
        host=local_platform.manifest.endpoint("shop-1", "api"),
        duration_s=10,
        rate=30,
        workers=2,
        thresholds=Thresholds(p95_ms=1000.0),
    )
    result = run_load(plan, tmp_path)
    assert result.exit_code == 0, (tmp_path / "locust.log").read_text()[-3000:]
    records = read_request_log(result.request_log)
    assert len({r.worker for r in records}) == 2, {r.worker for r in records}
    assert_log_matches_locust(result)


def test_a_stall_shows_in_latency_from_intended_send_time_but_not_in_locust_response_times(
    local_platform: PlatformRun, containers: dict[str, Container], tmp_path: Path
) -> None:
    """Coordinated omission: with 4 requests in flight at most, a 2 s pause holds the schedule back.

    Locust times a request from when it was sent, so the arrivals that waited for the stall look
    fast to it; the request log times them from when they were due.
    """
    spawned = threading.Event()

    def watch(line: str) -> None:
        if "All users spawned" in line:
            spawned.set()

    plan = LoadPlan(
        scenario=scenario("shop-open"),
        host=local_platform.manifest.endpoint("shop-1", "api"),
        duration_s=12,
        rate=25,
        thresholds=Thresholds(p95_ms=1000.0),
        extra_args=("--max-in-flight", "4"),
    )
    outcome: dict[str, LoadResult] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(result=run_load(plan, tmp_path, progress=watch))
    )
    runner.start()
    shop = containers["shop-1"]
    try:
        assert spawned.wait(timeout=60), "Locust never spawned its generator"
        time.sleep(3)  # part of the experiment's schedule: stall 3 s into the load
        shop.pause()
        paused_at = time.time() * 1000
        time.sleep(2)
    finally:
        shop.unpause()
        resumed_at = time.time() * 1000
        runner.join(timeout=120)
    records = read_request_log(outcome["result"].request_log)
    due_in_stall = [r for r in records if paused_at <= r.intended_ms < resumed_at - 500]
    assert len(due_in_stall) >= 25, f"only {len(due_in_stall)} arrivals were due during the stall"
    intended = summarise(records, basis="intended")
    sent = summarise(records, basis="sent")
    slow_by_schedule = sum(1 for r in records if r.latency_ms >= 1000)
    slow_by_locust = sum(1 for r in records if r.response_ms >= 1000)
    assert intended.p95 >= 500, intended
    assert sent.p95 < 200, sent
    assert slow_by_schedule >= 4 * max(1, slow_by_locust), (slow_by_schedule, slow_by_locust)
    assert outcome["result"].locust is not None and outcome["result"].locust.p95_ms < 200


def test_a_step_pattern_is_followed_as_data_says(
    local_platform: PlatformRun, tmp_path: Path
) -> None:
    """``step`` holds 25/50/75/100 % of the peak users, a quarter of the run each."""
    plan = LoadPlan(
        scenario=scenario("shop-shaped"),
        host=local_platform.manifest.endpoint("shop-1", "api"),
        duration_s=12,
        users=4,
        pattern="step",
        thresholds=Thresholds(p95_ms=1000.0),
    )
    result = run_load(plan, tmp_path)
    assert result.exit_code == 0, (tmp_path / "locust.log").read_text()[-3000:]
    counts, seen = _user_counts(tmp_path)
    assert seen == [1, 2, 3, 4], counts


def _user_counts(output: Path) -> tuple[list[int], list[int]]:
    """Locust's user count every second, and its successive distinct values (zeros left out)."""
    with (output / "locust_stats_history.csv").open(newline="") as handle:
        counts = [int(row["User Count"]) for row in csv.DictReader(handle)]
    return counts, [c for i, c in enumerate(counts) if c and (i == 0 or c != counts[i - 1])]


def test_a_load_shape_file_is_followed_as_its_stages_say(
    local_platform: PlatformRun, tmp_path: Path
) -> None:
    """A file's stages (1 user, then all 3, then 2), not a built-in pattern, drive Locust."""
    path = tmp_path / "up-and-back.yaml"
    path.write_text(
        "shape: up-and-back\nstages:\n"
        "  - {until: 0.3, users: 0.3}\n  - {until: 0.6, users: 1}\n  - {until: 1, users: 0.6}\n",
        encoding="utf-8",
    )
    name, stages = resolve_shape(str(path))
    plan = LoadPlan(
        scenario=scenario("shop-shaped"),
        host=local_platform.manifest.endpoint("shop-1", "api"),
        duration_s=12,
        users=3,
        pattern=name,
        stages=stages,
        thresholds=Thresholds(p95_ms=1000.0),
    )
    result = run_load(plan, tmp_path)
    assert result.exit_code == 0, (tmp_path / "locust.log").read_text()[-3000:]
    counts, seen = _user_counts(tmp_path)
    assert seen == [1, 3, 2], counts
    assert counts.count(3) >= 2 and counts.count(2) >= 2, counts  # each held, not passed through
