"""SLI, budget spent and verdicts against a real Prometheus serving backfilled counters.

Expectations come from the counts in ``series.DATASET``, computed in this file or in
``series.prometheus_increase`` (Prometheus' extrapolation rules, written out independently of
the engine). Values are compared to a relative 1e-9, which is far tighter than 4 decimal places.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import BackendError
from stormcheck.slo.evaluate import evaluate
from stormcheck.slo.model import RatioSli, Slo
from stormcheck.verdict import Outcome, Verdict, Window
from suites.slo.documents import load_one, slo_document
from suites.slo.evidence import counts
from suites.slo.series import (
    DATASET,
    REQUESTS,
    RESET_INDEX,
    STEP_S,
    T0,
    at,
    dataset_openmetrics,
    events_between,
    prometheus_increase,
)

pytestmark = pytest.mark.integration

DAY_S = 86400


@pytest.fixture(scope="module")
def prometheus(make_host_prometheus: Callable[[str], Any]) -> Iterator[PrometheusClient]:
    """A client of a host Prometheus holding the dataset."""
    running = make_host_prometheus(dataset_openmetrics())
    with PrometheusClient(running.url) as client:
        yield client


def _slo(tmp_path: Path, case: str, *, target: float = 0.99) -> Slo:
    return load_one(
        tmp_path,
        slo_document(
            f"{case}-requests",
            good=f'{REQUESTS}{{case="{case}",outcome="good"}}',
            total=f'{REQUESTS}{{case="{case}"}}',
            target=target,
        ),
    )


def _measured(verdict: Verdict) -> tuple[float, float, float, float]:
    (evidence,) = verdict.evidence
    assert evidence.observed is not None and evidence.budget_spent is not None, verdict.explain()
    good, total = counts(evidence)
    return (
        good,
        total,
        evidence.observed,
        evidence.budget_spent,
    )


def _index(minutes: float) -> int:
    return round(minutes * 60 / STEP_S)


def test_aligned_window_counts_exactly_and_fails_a_099_objective(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    # Window edges on sample timestamps: Prometheus 2.x includes both edge samples, so the
    # increase is the exact difference and no extrapolation applies.
    window = Window(at(60), at(120))
    verdict = evaluate(_slo(tmp_path, "steady"), window, prometheus)
    good, total, sli, spent = _measured(verdict)
    steps = _index(120) - _index(60)
    assert good == pytest.approx(59 * steps, rel=1e-9)
    assert total == pytest.approx(60 * steps, rel=1e-9)
    assert sli == pytest.approx(59 / 60, rel=1e-9)
    # (1 - 59/60) * 3600 s / ((1 - 0.99) * 86400 s) = 0.069444...
    assert spent == pytest.approx((1 / 60) * 3600 / (0.01 * DAY_S), rel=1e-9)
    assert round(spent, 4) == 0.0694
    assert verdict.outcome is Outcome.FAIL, verdict.explain()


def test_same_window_passes_a_098_objective_with_its_budget_share(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    verdict = evaluate(_slo(tmp_path, "steady", target=0.98), Window(at(60), at(120)), prometheus)
    _, _, sli, spent = _measured(verdict)
    assert sli == pytest.approx(59 / 60, rel=1e-9)
    assert spent == pytest.approx((1 / 60) * 3600 / (0.02 * DAY_S), rel=1e-9)
    assert round(spent, 4) == 0.0347
    assert verdict.outcome is Outcome.PASS, verdict.explain()


def test_window_edges_between_samples_follow_prometheus_extrapolation(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    start, end = T0 + 3600 + 7, T0 + 7200 + 7  # 7 s after a sample at each edge
    window = Window(start * 1000, end * 1000)
    verdict = evaluate(_slo(tmp_path, "steady"), window, prometheus)
    good, total, sli, spent = _measured(verdict)
    expected_good = prometheus_increase(DATASET["steady_good"], start, end)
    expected_bad = prometheus_increase(DATASET["steady_bad"], start, end)
    assert expected_good is not None and expected_bad is not None
    # 239 intervals are sampled; extrapolation adds the 8 s and 7 s gaps to the edges.
    assert expected_good == pytest.approx(59 * 239 * 3600 / 3585, rel=1e-12)
    assert good == pytest.approx(expected_good, rel=1e-9)
    assert total == pytest.approx(expected_good + expected_bad, rel=1e-9)
    expected_sli = expected_good / (expected_good + expected_bad)
    assert sli == pytest.approx(expected_sli, rel=1e-9)
    assert spent == pytest.approx((1 - expected_sli) * 3600 / (0.01 * DAY_S), rel=1e-9)
    assert verdict.outcome is Outcome.FAIL


def test_counter_reset_inside_the_window_loses_no_events(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    window = Window(at(60), at(120))
    assert _index(60) < RESET_INDEX < _index(120)
    verdict = evaluate(_slo(tmp_path, "reset"), window, prometheus)
    good, total, sli, _ = _measured(verdict)
    expected_good = events_between(DATASET["reset_good"], _index(60), _index(120))
    expected_bad = events_between(DATASET["reset_bad"], _index(60), _index(120))
    assert expected_good == 59 * (_index(120) - _index(60))  # the restart lost nothing
    assert good == pytest.approx(expected_good, rel=1e-9)
    assert total == pytest.approx(expected_good + expected_bad, rel=1e-9)
    assert sli == pytest.approx(59 / 60, rel=1e-9)


def test_window_shorter_than_the_scrape_interval_is_inconclusive(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    # 10 s between two samples 15 s apart: not one sample in the range.
    window = Window((T0 + 3600 + 2) * 1000, (T0 + 3600 + 12) * 1000)
    verdict = evaluate(_slo(tmp_path, "steady"), window, prometheus)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "no samples" in verdict.reason


def test_no_traffic_is_inconclusive(prometheus: PrometheusClient, tmp_path: Path) -> None:
    verdict = evaluate(_slo(tmp_path, "idle"), Window(at(60), at(120)), prometheus)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "no traffic" in verdict.reason


def test_series_that_do_not_exist_are_inconclusive(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    verdict = evaluate(_slo(tmp_path, "absent"), Window(at(60), at(120)), prometheus)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "no samples" in verdict.reason


def test_window_after_the_data_ends_is_inconclusive_as_stale(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    # The data ends at T0+180m; a window ending 20 min later still holds samples, but none fresh.
    verdict = evaluate(_slo(tmp_path, "steady"), Window(at(140), at(200)), prometheus)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "stale" in verdict.reason


def test_query_error_is_inconclusive_with_prometheus_message(prometheus: PrometheusClient) -> None:
    broken = Slo(
        name="broken",
        service="shop",
        description="",
        sli=RatioSli(good='requests_total{code="200"', total="requests_total"),
        objective=0.99,
        period_s=DAY_S,
    )
    verdict = evaluate(broken, Window(at(60), at(120)), prometheus)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "could not measure" in verdict.reason and "bad_data" in verdict.reason


def test_unreachable_prometheus_is_inconclusive(tmp_path: Path) -> None:
    with PrometheusClient("http://127.0.0.1:9", timeout=2) as client:
        verdict = evaluate(_slo(tmp_path, "steady"), Window(at(60), at(120)), client)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "could not measure" in verdict.reason and "ConnectError" in verdict.reason


def test_client_returns_typed_vectors_and_wraps_promql_errors(prometheus: PrometheusClient) -> None:
    vector = prometheus.query_vector(f'{REQUESTS}{{case="steady",outcome="good"}}', at(60) / 1000)
    assert vector.single_value() == DATASET["steady_good"].values[_index(60)]
    matrix = prometheus.query_range(
        f'{REQUESTS}{{case="steady"}}', at(60) / 1000, at(61) / 1000, 15
    )
    assert len(matrix) == 2 and all(len(s.points) == 5 for s in matrix.series)
    with pytest.raises(BackendError, match="bad_data"):
        prometheus.query("sum(")
    assert prometheus.build_info()["version"]
