"""The log pipeline end to end: the shop's lines reach OpenSearch through the real shipper.

One shared run (``log_pipeline``): PostgreSQL, Redis, shop-1, OpenSearch and the rsyslog shipper.
The outage tests restore what they stop, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from docker.models.containers import Container

from stormcheck.local.stacks import components_for
from stormcheck.logstore import LogQuery, LogReader
from stormcheck.logstore.ingestion import IngestionWatch
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.testing import LogPipeline
from stormcheck.timeline import EventKind, now_ms
from stormcheck.verdict import Outcome, Window
from suites.logs.paced_requests import paced_requests

RATE = 60.0  # requests per second, above the 50 the pipeline must keep up with
SECONDS = 30.0
ROUTE = "/api/v1/categories"


def _host_url(container: Container, port: int) -> str:
    container.reload()
    binding = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]
    return f"http://127.0.0.1:{binding['HostPort']}"


def _until(what: str, check: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)  # polling a condition, bounded by timeout_s
    raise AssertionError(f"{what} not within {timeout_s:g} s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def _shop_like_shop_1(pipeline: LogPipeline, name: str) -> Container:
    """Start ``name`` (shop-2, shop-3) with shop-1's database and Redis, and wait until it serves."""
    env = dict(e.split("=", 1) for e in pipeline.container("shop-1").attrs["Config"]["Env"])
    template = components_for("minimal", only=(name,))[0]
    component = dataclasses.replace(
        template,
        env={
            **template.env,
            "SHOP_DATABASE_URL": env["SHOP_DATABASE_URL"],
            "SHOP_REDIS_URL": env["SHOP_REDIS_URL"],
        },
    )
    container = pipeline.start_extra(component)
    api = _host_url(container, 8080)
    _until(f"{name} serving /ready", lambda: _answers(api + "/ready"), 60)
    return container


def _burst(url: str, count: int) -> dict[str, int]:
    ids: dict[str, int] = {}
    result = paced_requests(url, rate=20, seconds=count / 20, on_response=ids.__setitem__)
    assert not result.failures, result.failures[:5]
    return ids


@pytest.mark.integration
def test_every_correlation_id_is_searchable_exactly_once_within_15_s_at_50_rps(
    log_pipeline: LogPipeline,
) -> None:
    url = log_pipeline.manifest.endpoint("shop-1", "api") + ROUTE
    with IngestionWatch(log_pipeline.store, log_pipeline.run_id, deadline_s=15) as watch:
        load = paced_requests(url, rate=RATE, seconds=SECONDS, on_response=watch.expect)
        report = watch.finish()
    event = report.record(log_pipeline.folder.timeline)

    assert not load.failures, load.failures[:5]
    assert load.rate >= 50, f"the load reached only {load.rate:.1f} requests/s"
    assert len(report.responses_ms) == int(RATE * SECONDS)
    verdict = report.verdict()
    assert verdict.outcome is Outcome.PASS, verdict.reason
    notes = log_pipeline.folder.timeline.events(EventKind.NOTE)
    recorded = [e for e in notes if e.name == "log ingestion lag"]
    assert recorded and recorded[-1].attrs == event.attrs
    assert event.attrs["found"] == len(report.responses_ms) and event.attrs["p95_ms"] > 0, event
    print(f"ingestion: {load.rate:.1f} req/s; {verdict.reason}")


@pytest.mark.integration
def test_with_the_shipper_stopped_the_api_starts_and_serves_and_the_backlog_arrives_later(
    log_pipeline: LogPipeline,
) -> None:
    shipper = log_pipeline.container("shipper")
    outage_ms = now_ms()
    shipper.stop(timeout=10)
    try:
        shop_2 = _shop_like_shop_1(log_pipeline, "shop-2")
        ids = _burst(log_pipeline.manifest.endpoint("shop-1", "api") + ROUTE, 40)
        ids |= _burst(_host_url(shop_2, 8080) + ROUTE, 40)
        window = Window(outage_ms, now_ms())
        answer = LogReader(log_pipeline.store).count(
            LogQuery(window=window).where(run=log_pipeline.run_id)
        )
        assert answer.value is None, f"counted {answer.value} with the shipper stopped"
        assert "older than the end of the window" in answer.reason, answer.reason
        verdict = answer.judge("shop errors", lambda n: n == 0, "no error line")
        assert verdict.outcome is Outcome.INCONCLUSIVE, verdict
    finally:
        shipper.start()
    restarted_ms = now_ms()

    with IngestionWatch(
        log_pipeline.store, log_pipeline.run_id, deadline_s=30, since_ms=outage_ms - 1000
    ) as watch:
        for request_id in ids:
            watch.expect(request_id, restarted_ms)
        report = watch.finish()
    verdict = report.verdict()
    assert verdict.outcome is Outcome.PASS, f"backlog after the shipper's restart: {verdict.reason}"
    started_lines = log_pipeline.store.count(
        LogQuery(window=Window(outage_ms, now_ms())).where(
            run=log_pipeline.run_id, replica="shop-2"
        )
    )
    assert started_lines > len(ids) // 2, f"only {started_lines} lines of shop-2 arrived"
    summary: dict[str, Any] = report.lag_summary()
    log_pipeline.folder.timeline.record(
        EventKind.NOTE, "log backlog after shipper restart", **summary
    )


# an OpenSearch restart takes ~30 s of the minute this test needs: nightly, not make test
@pytest.mark.slow
def test_with_opensearch_stopped_the_api_serves_queries_are_inconclusive_and_the_backlog_arrives(
    log_pipeline: LogPipeline,
) -> None:
    node = log_pipeline.container("opensearch")
    outage_ms = now_ms()
    node.stop(timeout=30)
    try:
        shop_3 = _shop_like_shop_1(log_pipeline, "shop-3")
        ids = _burst(log_pipeline.manifest.endpoint("shop-1", "api") + ROUTE, 40)
        ids |= _burst(_host_url(shop_3, 8080) + ROUTE, 40)
        answer = LogReader(log_pipeline.store).count(
            LogQuery(window=Window(outage_ms, now_ms())).where(run=log_pipeline.run_id)
        )
        assert answer.value is None, f"counted {answer.value} with OpenSearch stopped"
        assert "could not answer" in answer.reason, answer.reason
    finally:
        node.start()
    # a restarted container gets a new host port: a new client for the same node
    url = _host_url(node, 9200)
    _until(
        "OpenSearch yellow again",
        lambda: _answers(url + "/_cluster/health?wait_for_status=yellow&timeout=1s"),
        60,
    )
    restarted_ms = now_ms()
    store = OpenSearchStore(url)
    try:
        with IngestionWatch(
            store, log_pipeline.run_id, deadline_s=30, since_ms=outage_ms - 1000
        ) as watch:
            for request_id in ids:
                watch.expect(request_id, restarted_ms)
            report = watch.finish()
    finally:
        store.close()
    verdict = report.verdict()
    assert verdict.outcome is Outcome.PASS, f"backlog after OpenSearch's restart: {verdict.reason}"
