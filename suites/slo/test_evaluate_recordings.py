"""Evaluating from recorded error ratios gives the raw counters' answer, on the same data.

A host Prometheus holds the dataset of ``series`` plus the SLOs' generated recording rules,
backfilled over it by ``promtool tsdb create-blocks-from rules`` (so the rules run with
Prometheus' own evaluation schedule, offset per group). ``evaluate(..., use_recordings=True)``
reads ``slo:sli_error:ratio_rate<W>`` for the newest sample before the window's end; the same
window, evaluated from the raw counters, must give the same SLI and budget spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.slo.evaluate import DEFAULT_RECORDING_LAG_S, evaluate
from stormcheck.slo.model import Slo
from stormcheck.slo.rules import render_rule_file
from stormcheck.verdict import Outcome, Verdict, Window
from suites.slo.documents import load_one, slo_document
from suites.slo.evidence import counts, sli
from suites.slo.series import HAPROXY, REQUESTS, T0, at, dataset_openmetrics

pytestmark = pytest.mark.integration

CASES = {
    "steady": (f'{REQUESTS}{{case="steady",outcome="good"}}', f'{REQUESTS}{{case="steady"}}'),
    "reset": (f'{REQUESTS}{{case="reset",outcome="good"}}', f'{REQUESTS}{{case="reset"}}'),
    "idle": (f'{REQUESTS}{{case="idle",outcome="good"}}', f'{REQUESTS}{{case="idle"}}'),
    "checkout": (
        f'{HAPROXY}{{proxy="checkout",code=~"[1-4]xx"}}',
        f'{HAPROXY}{{proxy="checkout"}}',
    ),
}


@pytest.fixture(scope="module")
def slos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Slo]:
    """One SLO per case, objective 0.99 over a day."""
    folder = tmp_path_factory.mktemp("recorded-slos")
    return {
        case: load_one(folder, slo_document(f"{case}-requests", good=good, total=total))
        for case, (good, total) in CASES.items()
    }


@pytest.fixture(scope="module")
def prometheus(
    make_host_prometheus: Callable[..., Any], slos: dict[str, Slo]
) -> Iterator[PrometheusClient]:
    """A host Prometheus with the dataset and the SLOs' recordings from T0+1h to T0+3h."""
    running = make_host_prometheus(
        dataset_openmetrics(),
        recording_rules=render_rule_file(slos.values()),
        rules_span=(T0 + 3600, T0 + 3 * 3600),
    )
    with PrometheusClient(running.url) as client:
        yield client


def _sli(verdict: Verdict) -> tuple[float, float]:
    (evidence,) = verdict.evidence
    assert evidence.observed is not None and evidence.budget_spent is not None, verdict.explain()
    return evidence.observed, evidence.budget_spent


@pytest.mark.parametrize(
    ("case", "minutes", "outcome"),
    [
        ("steady", (60, 120), Outcome.FAIL),  # 59/60 < 0.99
        ("reset", (60, 120), Outcome.FAIL),  # a counter reset at 90 min inside the hour
        ("checkout", (30, 90), Outcome.PASS),  # no 5xx
        ("checkout", (110, 170), Outcome.FAIL),  # the 5xx burst [120, 130) inside the hour
        ("checkout", (100, 130), Outcome.FAIL),  # a 30m window
        ("checkout", (122, 127), Outcome.FAIL),  # a 5m window inside the burst
        ("checkout", (60, 180), Outcome.PASS),  # a 2h window dilutes the burst to 0.8 %
    ],
)
def test_recorded_error_ratio_gives_the_counters_sli(
    prometheus: PrometheusClient,
    slos: dict[str, Slo],
    case: str,
    minutes: tuple[int, int],
    outcome: Outcome,
) -> None:
    slo = slos[case]
    start_min, end_min = minutes
    recorded = evaluate(slo, Window(at(start_min), at(end_min)), prometheus, use_recordings=True)
    (evidence,) = recorded.evidence
    series, lag = sli(evidence).recorded_series, sli(evidence).recording_lag_s
    assert series is not None and series.startswith("slo:sli_error:ratio_rate"), evidence
    assert lag is not None and 0 <= lag <= DEFAULT_RECORDING_LAG_S, evidence.details
    covered = evidence.window
    assert covered is not None and covered.seconds == (end_min - start_min) * 60
    assert covered.end_ms == at(end_min) - round(lag * 1000)
    raw = evaluate(slo, covered, prometheus)
    assert raw.evidence[0].sli is not None and sli(raw.evidence[0]).recorded_series is None
    recorded_sli, recorded_spent = _sli(recorded)
    raw_sli, raw_spent = _sli(raw)
    assert recorded_sli == pytest.approx(raw_sli, rel=1e-9, abs=1e-12)
    assert recorded_spent == pytest.approx(raw_spent, rel=1e-9, abs=1e-12)
    assert recorded.outcome is raw.outcome is outcome, recorded.explain()
    if case in {"steady", "reset"}:
        assert recorded_sli == pytest.approx(59 / 60, rel=1e-9)


def test_window_length_without_a_recording_is_counted_from_the_counters(
    prometheus: PrometheusClient, slos: dict[str, Slo]
) -> None:
    window = Window(at(75), at(120))  # 45 min: no rule records it
    verdict = evaluate(slos["steady"], window, prometheus, use_recordings=True)
    (evidence,) = verdict.evidence
    assert "no recording of a 45m window" in evidence.details["recording"], evidence.details
    assert evidence.window == window and counts(evidence)[1] > 0
    assert _sli(verdict)[0] == pytest.approx(59 / 60, rel=1e-9)


def test_recording_older_than_the_allowed_lag_is_not_used(
    prometheus: PrometheusClient, slos: dict[str, Slo]
) -> None:
    # Rules run on their group's schedule, never exactly at this window's end.
    window = Window(at(60), at(120))
    verdict = evaluate(
        slos["steady"], window, prometheus, use_recordings=True, recording_lag_s=0.001
    )
    (evidence,) = verdict.evidence
    assert "no sample of slo:sli_error:ratio_rate1h" in evidence.details["recording"]
    assert evidence.window == window and sli(evidence).recorded_series is None
    assert verdict.outcome is Outcome.FAIL, verdict.explain()


def test_recorded_window_without_traffic_is_inconclusive(
    prometheus: PrometheusClient, slos: dict[str, Slo]
) -> None:
    verdict = evaluate(slos["idle"], Window(at(60), at(120)), prometheus, use_recordings=True)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "no traffic" in verdict.reason and "NaN" in verdict.reason
    assert sli(verdict.evidence[0]).recorded_series == (
        'slo:sli_error:ratio_rate1h{slo="idle-requests"}'
    )


def test_recorded_window_after_the_data_ends_is_stale(
    prometheus: PrometheusClient, slos: dict[str, Slo]
) -> None:
    # Recordings and counters both end at T0+3h: 10 min later no recording is within the lag,
    # so the counters answer, and their newest sample is 10 min old.
    verdict = evaluate(slos["steady"], Window(at(130), at(190)), prometheus, use_recordings=True)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "stale" in verdict.reason
