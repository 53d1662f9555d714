"""Assertions shared by the load tests."""

from __future__ import annotations

from stormcheck.load.analysis import summarise
from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadResult

__all__ = ["assert_log_matches_locust", "locust_agrees"]


def locust_agrees(exact: float, locust: float) -> bool:
    """Locust keeps response times rounded (1 ms below 100 ms, 2 significant digits above)."""
    return abs(exact - locust) <= max(1.0, 0.05 * exact)


def assert_log_matches_locust(result: LoadResult) -> None:
    """Same count and failures as Locust's stats; percentiles within Locust's rounding."""
    records = read_request_log(result.request_log)
    sent = summarise(records, basis="sent")
    assert result.locust is not None, f"no Locust stats in {result.output_dir}"
    assert (sent.count, sent.failures) == (result.locust.requests, result.locust.failures), (
        sent,
        result.locust,
    )
    values = sorted(r.response_ms for r in records)
    for name, share, exact, theirs in (
        ("p50", 0.50, sent.p50, result.locust.p50_ms),
        ("p95", 0.95, sent.p95, result.locust.p95_ms),
        ("p99", 0.99, sent.p99, result.locust.p99_ms),
    ):
        # The log's percentile interpolates between the two requests around the rank; Locust
        # answers with one of its (rounded) neighbours. With few requests in the tail the two
        # can be a few ms apart, and both are right: accept Locust's value when it is, within
        # its rounding, one of the requests around the rank.
        rank = share * (len(values) - 1)
        around = values[max(0, int(rank) - 1) : int(rank) + 3]
        assert locust_agrees(exact, theirs) or any(locust_agrees(v, theirs) for v in around), (
            f"{name}: log {exact:.2f} ms, Locust {theirs} ms (requests around the rank: {around})"
        )
