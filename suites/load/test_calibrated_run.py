"""Calibrate the local platform, then hold half its capacity for 60 s and check the measurement.

The platform is the monitored minimal stack (Prometheus scrapes the shop every 5 s), so the
request log's exact percentiles are checked against the shop's own latency histogram
(``shop_http_request_duration_seconds``) over exactly the same requests: Prometheus computes
``histogram_quantile`` over the bucket increase between the last scrape before the run and the
first scrape after it, and the histogram's count over that window must equal the log's.

Agreement rule (:mod:`stormcheck.load.histogram`): the log's exact percentile lies in the same
bucket as Prometheus' estimate or in a bucket next to it (bucket indices differ by at most one).
The log's side is the latency from the actual send time (what the server can see); latency from
the intended send time adds the schedule lag, which no server-side histogram knows of. The shop's
CPU throttling over the window is measured too: time it spent throttled is time requests waited
where its histogram cannot see, and a tail quantile it can explain is ``inconclusive``, not a
pass (:mod:`stormcheck.load.throttling`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.load.analysis import arrival_rate, schedule_lag_p99, summarise
from stormcheck.load.calibrate import calibrate, read_capacity, store_calibration
from stormcheck.load.histogram import histogram_window, judge_bucket_agreement, latest_scrape_after
from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import scenario
from stormcheck.load.thresholds import Thresholds
from stormcheck.load.throttling import Throttling, read_throttling
from stormcheck.testing import MonitoredPlatform
from stormcheck.verdict import Outcome
from suites.load.checks import assert_log_matches_locust

pytestmark = pytest.mark.slow

HISTOGRAM = "shop_http_request_duration_seconds"
API_ROUTES = 'route=~"/api/.*"'  # not /metrics, /ready or /health


def test_half_the_calibrated_capacity_for_60_s_is_measured_exactly(
    monitored_platform: MonitoredPlatform, docker_client: DockerClient, tmp_path: Path
) -> None:
    host = monitored_platform.manifest.endpoint("shop-1", "api")
    calibration = calibrate(host, tmp_path / "calibration", start_rate=20.0, step_s=8.0)
    assert calibration.rate > 0, [s.to_dict() for s in calibration.steps]
    store_calibration(monitored_platform.folder, "shop-1", calibration)
    capacity = read_capacity(monitored_platform.folder, "shop-1")
    assert capacity == calibration.rate

    with PrometheusClient(monitored_platform.manifest.endpoint("prometheus")) as prometheus:
        # Calibration created every API route's series; the window starts after its last request.
        before = latest_scrape_after(prometheus, HISTOGRAM + "_count", time.time())
        rate = round(0.5 * capacity, 1)
        plan = LoadPlan(
            scenario=scenario("shop-open"),
            host=host,
            duration_s=60,
            rate=rate,
            thresholds=Thresholds(p95_ms=250.0),
        )
        shop = monitored_platform.manifest.container("shop-1")
        throttle_before = read_throttling(docker_client, shop)
        result = run_load(plan, tmp_path / "load")
        throttling = Throttling.between(throttle_before, read_throttling(docker_client, shop))
        after = latest_scrape_after(prometheus, HISTOGRAM + "_count", time.time())
        window = histogram_window(prometheus, HISTOGRAM, API_ROUTES, start_s=before, end_s=after)

    records = read_request_log(result.request_log)
    summary = summarise(records)
    assert summary.failures == 0, summary
    assert_log_matches_locust(result)
    assert arrival_rate(records, basis="sent") == pytest.approx(rate, rel=0.05)
    assert schedule_lag_p99(records) <= 50.0
    assert result.cpu.peak_share <= 0.8, result.cpu.to_dict()
    assert result.verdict.outcome is Outcome.PASS, result.verdict.explain()

    assert window.count == len(records), (
        f"Prometheus counted {window.count:g} API requests between its scrapes at {before:.3f}"
        f" and {after:.3f}, the log has {len(records)}: the windows differ"
    )
    sent = summarise(records, basis="sent")
    exact_s = {0.5: sent.p50 / 1000, 0.95: sent.p95 / 1000, 0.99: sent.p99 / 1000}
    agreement = judge_bucket_agreement(
        exact_s,
        window,
        source=str(result.request_log),
        throttling=throttling,
        arrival_rate=arrival_rate(records, basis="sent"),
    )
    print(agreement.explain(), throttling.to_dict(), sep="\n")  # the figures, for -rP / reports
    assert agreement.outcome is Outcome.PASS, agreement.explain()
