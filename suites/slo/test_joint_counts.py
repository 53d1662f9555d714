"""Joint assertions with both sides real: a host Prometheus and an OpenSearch 2.19 node.

Prometheus holds ``series.DATASET`` (240 checkout 5xx at the ingress in the burst of
T0+120m..130m); OpenSearch gets the matching 5xx request lines, and two variants: a shipper that
lost 40 lines, and a replica whose 30 extra 5xx never reached the ingress counter.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.logstore import LogStore, connect
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.slo.joint import (
    LogEventCount,
    PrometheusEventCount,
    Tolerance,
    counts_agree,
    error_lines,
    server_error_lines,
)
from stormcheck.verdict import Outcome, Window
from suites.slo.log_lines import (
    BURST_EVENTS,
    CHECKOUT,
    JOINT_SELECTOR,
    JOINT_WINDOW,
    index_in_batches,
    joint_documents,
    unique_prefix,
)
from suites.slo.series import at, dataset_openmetrics

pytestmark = pytest.mark.integration

WINDOW = Window(at(JOINT_WINDOW[0]), at(JOINT_WINDOW[1]))
TOLERANCE = Tolerance(absolute=2, relative=0.01)
LOST, EXTRA = 40, 30


@pytest.fixture(scope="module")
def prometheus(make_host_prometheus: Callable[[str], Any]) -> Iterator[PrometheusClient]:
    """A client of a host Prometheus holding the dataset."""
    with PrometheusClient(make_host_prometheus(dataset_openmetrics()).url) as client:
        yield client


@pytest.fixture(scope="module")
def patterns(opensearch_store: OpenSearchStore) -> dict[str, str]:
    """Index patterns seeded with the burst's lines: complete, lost, extra."""
    seeded = {}
    for name, documents in (
        ("complete", joint_documents()),
        ("lost", joint_documents(lost=LOST)),
        ("extra", joint_documents(extra=EXTRA)),
    ):
        prefix = unique_prefix(f"joint-{name}")
        assert index_in_batches(opensearch_store, f"{prefix}-2026.01.01", documents) > 0
        seeded[name] = f"{prefix}-*"
    return seeded


def _prometheus_side(client: PrometheusClient) -> PrometheusEventCount:
    return PrometheusEventCount(client, JOINT_SELECTOR, label="prometheus 5xx")


def _log_side(store: LogStore, index: str) -> LogEventCount:
    return server_error_lines(store, CHECKOUT, index=index)


def test_both_sides_count_the_same_240_5xx_and_agree(
    prometheus: PrometheusClient, opensearch_store: OpenSearchStore, patterns: dict[str, str]
) -> None:
    verdict = counts_agree(
        "5xx: metrics vs logs",
        WINDOW,
        _prometheus_side(prometheus),
        _log_side(opensearch_store, patterns["complete"]),
        TOLERANCE,
    )
    assert verdict.outcome is Outcome.PASS, verdict.explain()
    assert [e.observed for e in verdict.evidence] == [BURST_EVENTS, BURST_EVENTS]
    assert "status in [500, 600)" in (verdict.evidence[1].query or "")


def test_lost_log_lines_are_named_as_missing_from_the_log_side(
    prometheus: PrometheusClient, opensearch_store: OpenSearchStore, patterns: dict[str, str]
) -> None:
    verdict = counts_agree(
        "5xx: metrics vs logs",
        WINDOW,
        _prometheus_side(prometheus),
        _log_side(opensearch_store, patterns["lost"]),
        TOLERANCE,
    )
    assert verdict.outcome is Outcome.FAIL, verdict.explain()
    assert verdict.reason.startswith(
        f"log store 5xx lines is missing {LOST} of the {BURST_EVENTS} events prometheus 5xx saw"
    ), verdict.reason


def test_5xx_the_ingress_never_counted_are_named_as_missing_from_prometheus(
    prometheus: PrometheusClient, opensearch_store: OpenSearchStore, patterns: dict[str, str]
) -> None:
    verdict = counts_agree(
        "5xx: metrics vs logs",
        WINDOW,
        _prometheus_side(prometheus),
        _log_side(opensearch_store, patterns["extra"]),
        TOLERANCE,
    )
    assert verdict.outcome is Outcome.FAIL, verdict.explain()
    total = BURST_EVENTS + EXTRA
    assert verdict.reason.startswith(
        f"prometheus 5xx is missing {EXTRA} of the {total} events log store 5xx lines saw"
    ), verdict.reason


def test_error_lines_side_counts_level_error_only(
    opensearch_store: OpenSearchStore, patterns: dict[str, str]
) -> None:
    # The joint dataset's request lines are all level=info: no ERROR line in the window.
    side = error_lines(opensearch_store, {"service": "shop"}, index=patterns["complete"])
    assert side.count(WINDOW) == 0
    assert "level=error" in side.query


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_or_stale_side_makes_the_verdict_inconclusive(
    prometheus: PrometheusClient, opensearch_store: OpenSearchStore, patterns: dict[str, str]
) -> None:
    logs = _log_side(opensearch_store, patterns["complete"])
    with PrometheusClient(f"http://127.0.0.1:{_closed_port()}", timeout=2) as dead_prometheus:
        no_metrics = counts_agree("5xx", WINDOW, _prometheus_side(dead_prometheus), logs, TOLERANCE)
    assert no_metrics.outcome is Outcome.INCONCLUSIVE, no_metrics.explain()
    assert no_metrics.reason.startswith("cannot count prometheus 5xx:"), no_metrics.reason

    dead_store = connect("opensearch", f"http://127.0.0.1:{_closed_port()}")
    try:
        no_logs = counts_agree(
            "5xx",
            WINDOW,
            _prometheus_side(prometheus),
            _log_side(dead_store, patterns["complete"]),
            TOLERANCE,
        )
    finally:
        dead_store.close()
    assert no_logs.outcome is Outcome.INCONCLUSIVE, no_logs.explain()
    assert "cannot count log store 5xx lines" in no_logs.reason
    assert "could not answer" in no_logs.reason

    # the newest line is at T0+150m: a window ending at T0+160m is not covered yet
    stale = counts_agree(
        "5xx", Window(at(130), at(160)), _prometheus_side(prometheus), logs, TOLERANCE
    )
    assert stale.outcome is Outcome.INCONCLUSIVE, stale.explain()
    assert "older than the end of the window" in stale.reason
