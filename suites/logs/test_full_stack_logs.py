"""The full stack's own log store: requests through the ingress reach OpenSearch, each once.

Runs on the session's ``full_platform`` (shared with the other full-stack tests), whose OpenSearch
node and shipper start with the stack. Each replica's access lines carry its own zone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stormcheck.local.logstore import prepare_log_store
from stormcheck.logstore import LogQuery
from stormcheck.logstore.ingestion import IngestionWatch
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.logstore.query import Terms
from stormcheck.testing import PlatformRun
from stormcheck.timeline import now_ms
from stormcheck.verdict import Outcome, Window
from suites.logs.paced_requests import paced_requests

pytestmark = pytest.mark.e2e

RATE, SECONDS = 20.0, 10.0
ZONES = {"shop-1": "a", "shop-2": "b", "shop-3": "c"}


@pytest.fixture(scope="module")
def store(full_platform: PlatformRun) -> Iterator[OpenSearchStore]:
    opened = prepare_log_store(full_platform.manifest)
    try:
        yield opened
    finally:
        opened.close()


def test_requests_through_the_ingress_are_in_the_stacks_log_store_once_with_their_zone(
    full_platform: PlatformRun, store: OpenSearchStore
) -> None:
    run_id = full_platform.manifest.run_id
    url = full_platform.manifest.endpoint("ingress", "api") + "/api/v1/categories"
    started_ms = now_ms()
    with IngestionWatch(store, run_id, deadline_s=15) as watch:
        load = paced_requests(url, rate=RATE, seconds=SECONDS, on_response=watch.expect)
        report = watch.finish()
    assert not load.failures, load.failures[:5]
    verdict = report.verdict()
    assert verdict.outcome is Outcome.PASS, verdict.explain()

    window = Window(started_ms - 1000, now_ms() + 1000)
    access = LogQuery(window=window).where(
        run=run_id, logger="shop.access", route="/api/v1/categories"
    )
    for replica, zone in ZONES.items():
        zones = store.aggregate(access.where(replica=replica), Terms("zone"))
        assert [b.key for b in zones] == [zone], f"{replica}: zones {zones}"
    replicas = {b.key for b in store.aggregate(access, Terms("replica"))}
    assert replicas == set(ZONES), f"the ingress spread the requests over {replicas}"
