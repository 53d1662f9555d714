"""The LogStore contract, run against both backends on one real OpenSearch node.

``opensearch`` talks to the node directly; ``elasticsearch`` (the official 8.x client) talks to it
through the ElasticsearchCompatProxy. Both must give the same answers to the same queries.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from stormcheck.errors import BackendError
from stormcheck.logstore import DateHistogram, LogQuery, LogReader, LogStore, Terms, connect
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.timeline import iso_ms, now_ms
from stormcheck.verdict import Outcome, Window
from suites.logs.compat_proxy import ElasticsearchCompatProxy

pytestmark = pytest.mark.integration

SECOND = 1000


@dataclass(frozen=True, slots=True)
class Seeded:
    """What was indexed: the index pattern, the first document's time and the newest one's."""

    pattern: str
    start_ms: int
    newest_ms: int


@pytest.fixture(scope="module")
def seeded(opensearch_store: OpenSearchStore) -> Seeded:
    """60 documents, one per second, in a daily index of the template's pattern (unique name).

    Every 10th is a 500 of the shop; the last 15 are from the ``worker`` service.
    """
    prefix = f"logs-contract-{uuid.uuid4().hex[:8]}"
    start = (now_ms() // 60_000 - 10) * 60_000  # a whole minute, ten minutes ago
    documents = [
        {
            "@timestamp": iso_ms(start + i * SECOND),
            "level": "error" if i % 10 == 0 else "info",
            "service": "worker" if i >= 45 else "shop",
            "replica": f"shop-{i % 3 + 1}",
            "zone": "abc"[i % 3],
            "request_id": f"req-{i:03d}",
            "route": "/api/v1/products",
            "status": 500 if i % 10 == 0 else 200,
            "duration_ms": float(i),
            "message": "request",
        }
        for i in range(60)
    ]
    indexed = opensearch_store.index_documents(f"{prefix}-2026.11.26", documents)
    assert indexed == 60
    return Seeded(pattern=f"{prefix}-*", start_ms=start, newest_ms=start + 59 * SECOND)


@pytest.fixture(params=["opensearch", "elasticsearch"], scope="module")
def store(request: pytest.FixtureRequest, opensearch_store: OpenSearchStore) -> Iterator[LogStore]:
    """Each backend in turn, on the same node (Elasticsearch through the compatibility proxy)."""
    if request.param == "opensearch":
        chosen = connect("opensearch", opensearch_store.url)
        yield chosen
        chosen.close()
        return
    with ElasticsearchCompatProxy(opensearch_store.url) as proxy:
        chosen = connect("elasticsearch", proxy.url)
        yield chosen
        chosen.close()
        assert proxy.requests_seen > 0, "the Elasticsearch backend never went through the proxy"


def _query(seeded: Seeded, seconds: int = 60) -> LogQuery:
    window = Window(seeded.start_ms, seeded.start_ms + seconds * SECOND)
    return LogQuery(window=window, index=seeded.pattern)


def test_count_honours_the_window_and_every_filter(store: LogStore, seeded: Seeded) -> None:
    everything = _query(seeded)
    assert store.count(everything) == 60
    assert store.count(_query(seeded, seconds=30)) == 30
    assert store.count(everything.where(service="shop")) == 45
    assert store.count(everything.status_between(500, 600)) == 6
    assert store.count(everything.where(service="shop", zone="a").status_between(500, 600)) == 2


def test_search_returns_the_oldest_documents_first_with_their_fields(
    store: LogStore, seeded: Seeded
) -> None:
    records = store.search(_query(seeded).where(service="worker"), size=5)
    assert [r.fields["request_id"] for r in records] == [f"req-{i:03d}" for i in range(45, 50)]
    assert [r.at_ms for r in records] == [seeded.start_ms + i * SECOND for i in range(45, 50)]
    assert records[0].index.startswith(seeded.pattern.rstrip("*"))


def test_date_histogram_covers_the_window_with_empty_buckets(
    store: LogStore, seeded: Seeded
) -> None:
    window = Window(seeded.start_ms - 20 * SECOND, seeded.start_ms + 60 * SECOND)
    query = LogQuery(window=window, index=seeded.pattern).status_between(500, 600)
    buckets = store.aggregate(query, DateHistogram(interval_s=20))
    assert [b.key for b in buckets] == [window.start_ms + i * 20 * SECOND for i in range(4)]
    assert [b.count for b in buckets] == [0, 2, 2, 2]


def test_terms_aggregation_counts_each_value(store: LogStore, seeded: Seeded) -> None:
    buckets = store.aggregate(_query(seeded), Terms("service"))
    assert {b.key: b.count for b in buckets} == {"shop": 45, "worker": 15}


def test_newest_is_the_latest_timestamp_and_none_without_documents(
    store: LogStore, seeded: Seeded
) -> None:
    assert store.newest_ms(seeded.pattern) == seeded.newest_ms
    assert store.newest_ms("logs-nothing-here-*") is None


def test_a_missing_index_is_a_backend_error_naming_the_query(
    store: LogStore, seeded: Seeded
) -> None:
    missing = LogQuery(window=_query(seeded).window, index="logs-no-such-index")
    with pytest.raises(BackendError, match=r"logs-no-such-index"):
        store.count(missing)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", ["opensearch", "elasticsearch"])
def test_an_unreachable_store_is_a_backend_error(backend: str, seeded: Seeded) -> None:
    dead = connect(backend, f"http://127.0.0.1:{_closed_port()}")
    try:
        with pytest.raises(BackendError, match=rf"{backend} at http://127.0.0.1"):
            dead.count(_query(seeded))
        with pytest.raises(BackendError):
            dead.newest_ms(seeded.pattern)
    finally:
        dead.close()


def test_a_window_the_logs_do_not_cover_is_inconclusive_never_zero(
    store: LogStore, seeded: Seeded
) -> None:
    reader = LogReader(store)
    covered = reader.count(_query(seeded, seconds=59).status_between(500, 600))
    assert covered.measured and covered.value == 6, covered.reason
    beyond = Window(seeded.newest_ms - 10 * SECOND, seeded.newest_ms + 30 * SECOND)
    stale = reader.count(LogQuery(window=beyond, index=seeded.pattern).status_between(500, 600))
    assert stale.value is None
    assert "older than the end of the window" in stale.reason, stale.reason
    verdict = stale.judge("no 5xx in logs", lambda n: n == 0, "no 5xx response logged")
    assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.evidence[0].query


def test_an_unreachable_store_makes_the_answer_inconclusive_with_the_reason(
    seeded: Seeded,
) -> None:
    dead = connect("opensearch", f"http://127.0.0.1:{_closed_port()}")
    try:
        answer = LogReader(dead).count(_query(seeded))
    finally:
        dead.close()
    assert answer.value is None and "could not answer" in answer.reason, answer.reason
    verdict = answer.judge("errors", lambda n: n == 0, "no errors")
    assert verdict.outcome is Outcome.INCONCLUSIVE
