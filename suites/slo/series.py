"""Synthetic counter series with known counts, and what Prometheus must answer about them.

Everything the SLO tests assert is computed here from the counts, independently of the engine:
the exact event counts for windows aligned to sample timestamps, and Prometheus' own
extrapolation (``extrapolatedRate`` in promql/functions.go of Prometheus 2.x) for windows whose
edges fall between samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z; fixed, so the data and expectations never move
STEP_S = 15  # the "scrape interval" of the backfilled series
HOURS = 3
STEPS = HOURS * 3600 // STEP_S  # samples at T0, T0+15 s, ..., T0+3 h: STEPS + 1 of them


@dataclass(frozen=True, slots=True)
class CounterSeries:
    """A counter sampled every STEP_S from T0: ``values[i]`` at ``T0 + i * STEP_S``."""

    name: str
    labels: dict[str, str]
    values: tuple[float, ...]

    def samples(self) -> list[tuple[float, float]]:
        """``(timestamp_s, value)`` pairs."""
        return [(T0 + i * STEP_S, v) for i, v in enumerate(self.values)]


def counter(
    name: str,
    labels: dict[str, str],
    start: float,
    per_step: Callable[[int], float],
    reset_at: int | None = None,
) -> CounterSeries:
    """A counter starting at ``start`` that gains ``per_step(i)`` events between samples i-1 and i.

    With ``reset_at`` the process restarts just before sample ``reset_at``: that sample holds only
    the events since the restart, as a fresh process would export.
    """
    values = [start]
    for i in range(1, STEPS + 1):
        if i == reset_at:
            values.append(per_step(i))
        else:
            values.append(values[-1] + per_step(i))
    return CounterSeries(name, labels, tuple(values))


def events_between(series: CounterSeries, first_index: int, last_index: int) -> float:
    """Events counted between samples ``first_index`` and ``last_index`` (resets handled)."""
    total = 0.0
    for i in range(first_index + 1, last_index + 1):
        before, after = series.values[i - 1], series.values[i]
        total += after if after < before else after - before
    return total


def prometheus_increase(
    series: CounterSeries, range_start: float, range_end: float
) -> float | None:
    """``increase(series[range_end - range_start])`` at ``range_end``, as Prometheus 2.x computes it.

    Prometheus 2.x selects samples with ``range_start <= t <= range_end`` (both ends closed; 3.x
    made the start open). With fewer than two there is no result. The counted difference (resets
    corrected) is then extrapolated towards each edge: by the whole gap when the gap is under 1.1
    average sample intervals, else by half an interval; and, for counters, never beyond the point
    where the first value would have been zero.
    """
    points = [(t, v) for t, v in series.samples() if range_start <= t <= range_end]
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t = points[-1][0]
    indices = [round((t - T0) / STEP_S) for t, _ in points]
    result = events_between(series, indices[0], indices[-1])
    sampled = last_t - first_t
    average = sampled / (len(points) - 1)
    to_start = first_t - range_start
    to_end = range_end - last_t
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled)


def openmetrics(series: Iterable[CounterSeries]) -> str:
    """OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``."""
    families: dict[str, list[CounterSeries]] = {}
    for item in series:
        families.setdefault(item.name, []).append(item)
    lines = []
    for name, members in families.items():
        lines.append(f"# TYPE {name.removesuffix('_total')} counter")
        for member in members:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(member.labels.items()))
            lines.extend(f"{name}{{{labels}}} {v:.17g} {t}" for t, v in member.samples())
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def at(minutes: float) -> int:
    """Epoch milliseconds ``minutes`` after T0."""
    return round((T0 + minutes * 60) * 1000)


# The dataset every SLO test reads. Requests per 15 s step:
#   slo_test_requests_total{case="steady"}: 59 good + 1 bad (SLI 59/60) all along;
#   {case="reset"}: the same, with a process restart just before T0+90m;
#   {case="idle"}: counters that never move (no traffic);
#   haproxy_backend_http_responses_total{proxy="checkout"}: 60 2xx + 2 4xx per step, and 6 5xx
#   per step only in the burst [T0+120m, T0+130m).
REQUESTS = "slo_test_requests_total"
HAPROXY = "haproxy_backend_http_responses_total"
RESET_INDEX = 90 * 60 // STEP_S
BURST = (120 * 60 // STEP_S, 130 * 60 // STEP_S)


def _burst(i: int) -> float:
    return 6.0 if BURST[0] < i <= BURST[1] else 0.0


DATASET: dict[str, CounterSeries] = {
    "steady_good": counter(REQUESTS, {"case": "steady", "outcome": "good"}, 1000, lambda i: 59),
    "steady_bad": counter(REQUESTS, {"case": "steady", "outcome": "bad"}, 10, lambda i: 1),
    "reset_good": counter(
        REQUESTS, {"case": "reset", "outcome": "good"}, 1000, lambda i: 59, RESET_INDEX
    ),
    "reset_bad": counter(
        REQUESTS, {"case": "reset", "outcome": "bad"}, 10, lambda i: 1, RESET_INDEX
    ),
    "idle_good": counter(REQUESTS, {"case": "idle", "outcome": "good"}, 500, lambda i: 0),
    "idle_bad": counter(REQUESTS, {"case": "idle", "outcome": "bad"}, 5, lambda i: 0),
    "checkout_2xx": counter(HAPROXY, {"proxy": "checkout", "code": "2xx"}, 0, lambda i: 60),
    "checkout_4xx": counter(HAPROXY, {"proxy": "checkout", "code": "4xx"}, 0, lambda i: 2),
    "checkout_5xx": counter(HAPROXY, {"proxy": "checkout", "code": "5xx"}, 0, _burst),
}


def dataset_openmetrics() -> str:
    """The whole dataset as OpenMetrics text."""
    return openmetrics(DATASET.values())
