"""The agreement rule between exact percentiles and a histogram's estimates (no Prometheus)."""

from __future__ import annotations

import pytest

from stormcheck.errors import PlatformError
from stormcheck.load.histogram import HistogramWindow, bucket_index, judge_bucket_agreement
from stormcheck.load.throttling import ThrottleSample, Throttling
from stormcheck.verdict import Outcome

pytestmark = pytest.mark.unit

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1)


def _window(**estimates: float) -> HistogramWindow:
    quantiles = {float(k.removeprefix("q")) / 100: v for k, v in estimates.items()}
    return HistogramWindow(
        metric="m",
        selector="",
        start_s=0.0,
        end_s=1.0,
        count=100,
        bounds=BOUNDS,
        quantiles=quantiles,
        queries={q: f"histogram_quantile({q})" for q in quantiles},
    )


def test_a_value_belongs_to_the_first_bucket_whose_upper_bound_holds_it() -> None:
    assert bucket_index(0.001, BOUNDS) == 0
    assert bucket_index(0.005, BOUNDS) == 0  # le: the bound itself is inside
    assert bucket_index(0.0051, BOUNDS) == 1
    assert bucket_index(0.1, BOUNDS) == 4
    assert bucket_index(0.2, BOUNDS) == 5  # +Inf


def test_same_or_neighbouring_bucket_agrees_and_two_apart_does_not() -> None:
    window = _window(q50=0.007, q95=0.03)
    same = judge_bucket_agreement({0.5: 0.009, 0.95: 0.04}, window, source="t")
    assert same.outcome is Outcome.PASS, same.explain()
    neighbour = judge_bucket_agreement({0.5: 0.012, 0.95: 0.02}, window, source="t")
    assert neighbour.outcome is Outcome.PASS, neighbour.explain()
    apart = judge_bucket_agreement({0.5: 0.007, 0.95: 0.2}, window, source="t")
    assert apart.outcome is Outcome.FAIL and "p95" in apart.reason, apart.explain()


def test_a_quantile_prometheus_did_not_estimate_is_inconclusive() -> None:
    verdict = judge_bucket_agreement({0.99: 0.01}, _window(q50=0.007), source="t")
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()


BEFORE = ThrottleSample("shop-1", periods=100, throttled_periods=1, throttled_ns=10**8)


def _throttled(seconds: float) -> Throttling:
    after = ThrottleSample(
        "shop-1", periods=700, throttled_periods=20, throttled_ns=10**8 + int(seconds * 1e9)
    )
    return Throttling.between(BEFORE, after)


def test_throttling_is_the_difference_of_two_samples_and_refuses_a_restart() -> None:
    throttled = _throttled(0.75)
    assert (throttled.periods, throttled.throttled_periods) == (600, 19)
    assert throttled.throttled_s == pytest.approx(0.75)
    # 0.75 s at 80 requests/s: 60 of 4,800 requests arrived while the server could not run
    assert throttled.exposed_share(80.0, 4800) == pytest.approx(60 / 4800)
    restarted = ThrottleSample("shop-1", periods=5, throttled_periods=0, throttled_ns=0)
    with pytest.raises(PlatformError, match="went backwards"):
        Throttling.between(BEFORE, restarted)


def test_a_tail_apart_while_the_server_was_throttled_is_inconclusive_not_failed() -> None:
    window = _window(q50=0.007, q99=0.02)  # count 100
    exact = {0.5: 0.007, 0.99: 0.09}  # p99 two buckets apart
    # 0.05 s at 40/s: 2 of 100 requests arrived while throttled, more than the 1 % above p99
    verdict = judge_bucket_agreement(
        exact, window, source="t", throttling=_throttled(0.05), arrival_rate=40.0
    )
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "CPU-throttled" in verdict.reason and "p99" in verdict.reason
    details = verdict.evidence[0].details
    assert details["exposed_share"] == pytest.approx(0.02)


def test_a_tail_apart_with_too_little_throttling_to_explain_it_fails() -> None:
    window = _window(q50=0.007, q99=0.02)
    exact = {0.5: 0.007, 0.99: 0.09}
    # 0.01 s at 40/s: 0.4 % of the requests, less than the 1 % above p99
    verdict = judge_bucket_agreement(
        exact, window, source="t", throttling=_throttled(0.01), arrival_rate=40.0
    )
    assert verdict.outcome is Outcome.FAIL, verdict.explain()


def test_throttling_never_excuses_a_median_apart() -> None:
    window = _window(q50=0.007, q99=0.02)
    exact = {0.5: 0.09, 0.99: 0.02}
    verdict = judge_bucket_agreement(
        exact, window, source="t", throttling=_throttled(0.05), arrival_rate=40.0
    )
    assert verdict.outcome is Outcome.FAIL and "p50" in verdict.reason, verdict.explain()
