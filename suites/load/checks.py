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
    for name, exact, theirs in (
        ("p50", sent.p50, result.locust.p50_ms),
        ("p95", sent.p95, result.locust.p95_ms),
        ("p99", sent.p99, result.locust.p99_ms),
    ):
        assert locust_agrees(exact, theirs), f"{name}: log {exact:.2f} ms, Locust {theirs} ms"
