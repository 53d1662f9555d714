"""The agreement rule between exact percentiles and a histogram's estimates (no Prometheus)."""

from __future__ import annotations

import pytest

from stormcheck.load.histogram import HistogramWindow, bucket_index, judge_bucket_agreement
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
