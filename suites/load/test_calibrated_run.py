"""Calibrate the local platform, then hold half its capacity for 60 s and check the measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stormcheck.load.analysis import arrival_rate, schedule_lag_p99, summarise
from stormcheck.load.calibrate import calibrate, read_capacity, store_calibration
from stormcheck.load.records import read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import scenario
from stormcheck.load.thresholds import Thresholds
from stormcheck.verdict import Outcome
from suites.load.checks import assert_log_matches_locust

pytestmark = pytest.mark.slow


def test_half_the_calibrated_capacity_for_60_s_is_measured_exactly(
    local_platform: Any, tmp_path: Path
) -> None:
    host = local_platform.endpoint("shop-1", "api")
    calibration = calibrate(host, tmp_path / "calibration", start_rate=20.0, step_s=8.0)
    assert calibration.rate > 0, [s.to_dict() for s in calibration.steps]
    store_calibration(local_platform.folder, "shop-1", calibration)
    capacity = read_capacity(local_platform.folder, "shop-1")
    assert capacity == calibration.rate

    rate = round(0.5 * capacity, 1)
    plan = LoadPlan(
        scenario=scenario("shop-open"),
        host=host,
        duration_s=60,
        rate=rate,
        thresholds=Thresholds(p95_ms=250.0),
    )
    result = run_load(plan, tmp_path / "load")
    records = read_request_log(result.request_log)
    summary = summarise(records)
    assert summary.failures == 0, summary
    assert_log_matches_locust(result)
    assert arrival_rate(records, basis="sent") == pytest.approx(rate, rel=0.05)
    assert schedule_lag_p99(records) <= 50.0
    assert result.cpu.peak_share <= 0.8, result.cpu.to_dict()
    assert result.verdict.outcome is Outcome.PASS, result.verdict.explain()
