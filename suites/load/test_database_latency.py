"""The open model keeps its schedule when the database link slows down (+300 ms, full stack).

A closed-model generator waits for each answer, so a slow database would slow the load itself
and hide the slowness (coordinated omission). The open model must not: with a 300 ms ``latency``
toxic on Toxiproxy's PostgreSQL proxy (API replicas → data router), the arrivals still leave on
schedule. The request log is the evidence: the rate from the intended send times, the rate
achieved from the actual ones, the schedule lag (actual - intended send), and every arrival due
in the log.

The platform is allowed to suffer (at 25/s a few % of requests get 503 when a replica's pool
or statement timeout runs out): that is what the open model must show, not hide.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stormcheck.clients.toxiproxy import ToxiproxyClient
from stormcheck.load.analysis import arrival_rate, schedule_lag_p99, summarise
from stormcheck.load.calibrate import MAX_LAG_P99_MS
from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import scenario
from stormcheck.load.thresholds import Thresholds
from stormcheck.testing import PlatformRun
from stormcheck.timeline import EventKind

pytestmark = pytest.mark.slow

RATE = 25.0  # arrivals per second, through the ingress
DURATION_S = 30.0
DB_LATENCY_MS = 300
RATE_TOLERANCE = 0.05


def test_open_model_keeps_its_arrival_rate_with_300_ms_on_the_database_link(
    full_platform: PlatformRun, full_toxiproxy: ToxiproxyClient, tmp_path: Path
) -> None:
    proxy = full_toxiproxy.get_proxy("postgres")
    toxic = full_toxiproxy.add_toxic(
        proxy.name, "latency", {"latency": DB_LATENCY_MS, "jitter": 0}, stream="downstream"
    )
    timeline = full_platform.folder.timeline
    timeline.record(EventKind.FAULT_START, "database latency", proxy=proxy.name, ms=DB_LATENCY_MS)
    try:
        plan = LoadPlan(
            scenario=scenario("shop-open"),
            host=full_platform.manifest.endpoint("ingress", "api"),
            duration_s=DURATION_S,
            rate=RATE,
            thresholds=Thresholds(max_error_ratio=1.0, p95_ms=None, p99_ms=None),
        )
        result = run_load(plan, tmp_path)
    finally:
        full_toxiproxy.remove_toxic(proxy.name, toxic.name)
        timeline.record(EventKind.FAULT_END, "database latency", proxy=proxy.name)
    records = read_request_log(result.request_log)
    summary = summarise(records)
    cpu = result.cpu.to_dict()
    context = f"{summary}; generator CPU {cpu}; log {result.request_log}"

    # The fault was in the path: every order needs the database, so none came back sooner.
    orders = [r for r in records if r.checkout is not None and r.ok]
    assert orders, f"no successful checkout to show the fault was in the path; {context}"
    fastest = min(r.response_ms for r in orders)
    assert fastest >= DB_LATENCY_MS, f"an order took {fastest:.0f} ms < the toxic; {context}"

    scheduled = arrival_rate(records, basis="intended")
    achieved = arrival_rate(records, basis="sent")
    lag_p99 = schedule_lag_p99(records)
    assert scheduled == pytest.approx(RATE, rel=RATE_TOLERANCE), f"scheduled {scheduled:.2f}/s"
    assert achieved == pytest.approx(RATE, rel=RATE_TOLERANCE), f"achieved {achieved:.2f}/s"
    assert lag_p99 <= MAX_LAG_P99_MS, f"schedule lag p99 {lag_p99:.1f} ms; {context}"
    arrivals = sum(1 for r in records if r.checkout is None or r.checkout.attempt == 1)
    assert arrivals == pytest.approx(RATE * DURATION_S, rel=RATE_TOLERANCE), (
        f"{arrivals} arrivals in the log for {RATE * DURATION_S:g} due; {context}"
    )
