"""The request log's exact percentiles against a Prometheus latency histogram over the same requests.

A histogram knows a latency only to its bucket: ``histogram_quantile`` interpolates linearly
inside the bucket the rank falls in, so its estimate can sit anywhere in that bucket. The rule
used here, **agreement within the bucket resolution**: the exact percentile from the request log
lies in the same bucket as Prometheus' estimate or in a bucket next to it, i.e. their bucket
indices (``le`` semantics: a value belongs to the first bucket whose upper bound is >= it) differ
by at most one. One bucket of slack on either side is what the server- and client-side clocks need:
the client's time includes the network and the connection, the server's only the handler.

Prometheus computes the quantiles itself, over the exact increase between two scrapes (``metric -
metric @ start``, evaluated at ``end``): no ``increase()`` extrapolation, no window alignment.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import BackendError, NotReadyError
from stormcheck.load.throttling import Throttling
from stormcheck.verdict import Evidence, Verdict
from stormcheck.waiting import NotYet, poll_until

__all__ = [
    "HistogramWindow",
    "bucket_index",
    "histogram_window",
    "judge_bucket_agreement",
    "latest_scrape_after",
]


def bucket_index(value: float, bounds: Sequence[float]) -> int:
    """The index of the bucket ``value`` belongs to (``len(bounds)`` for +Inf).

    ``bounds`` are the finite upper bounds (``le``), ascending.
    """
    return bisect.bisect_left(bounds, value)


def latest_scrape_after(
    prometheus: PrometheusClient, metric: str, after_s: float, *, timeout_s: float = 30.0
) -> float:
    """The time (epoch s) of the first scrape of ``metric`` later than ``after_s``.

    Polls Prometheus for the sample's own timestamp; :class:`NotReadyError` when no scrape that
    late arrives within ``timeout_s``.
    """

    def later_scrape() -> float | NotYet:
        seen = prometheus.query_vector(f"max(timestamp({metric}))").single_value()
        return seen if seen is not None and seen > after_s else NotYet(str(seen))

    return poll_until(
        later_scrape,
        timeout_s=timeout_s,
        interval_s=0.5,
        on_timeout=lambda seen: NotReadyError(
            f"prometheus at {prometheus.url}: no scrape of {metric} after {after_s:.3f}"
            f" within {timeout_s:g} s (latest: {seen})"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramWindow:
    """What a histogram recorded between two scrapes: count, bucket bounds, quantile estimates."""

    metric: str
    selector: str
    start_s: float
    end_s: float
    count: float
    bounds: tuple[float, ...]
    quantiles: Mapping[float, float]
    queries: Mapping[float, str]


def _delta(metric: str, selector: str, start_s: float) -> str:
    series = f"{metric}{{{selector}}}"
    return f"({series} - {series} @ {start_s:.3f})"


def histogram_window(
    prometheus: PrometheusClient,
    metric: str,
    selector: str,
    *,
    start_s: float,
    end_s: float,
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
) -> HistogramWindow:
    """Prometheus' ``histogram_quantile`` of ``metric`` (a histogram's base name) between scrapes.

    ``selector`` is a PromQL label matcher list without braces (e.g. ``route=~"/api/.*"``);
    series that did not exist at ``start_s`` are left out by the subtraction, so every series
    must have been created before. Raises :class:`BackendError` when the histogram has no data.
    """
    buckets = f"{metric}_bucket"
    count = prometheus.query_vector(
        f"sum({_delta(metric + '_count', selector, start_s)})", at=end_s
    ).single_value()
    les = prometheus.query_vector(f"count by (le) ({buckets}{{{selector}}})", at=end_s)
    bounds = sorted(float(s.labels["le"]) for s in les.samples)
    finite = tuple(b for b in bounds if math.isfinite(b))
    if count is None or not finite:
        raise BackendError(
            f"prometheus at {prometheus.url}: no {metric} data for {{{selector}}}"
            f" between {start_s:.3f} and {end_s:.3f}"
        )
    estimates: dict[float, float] = {}
    queries: dict[float, str] = {}
    for q in quantiles:
        queries[q] = f"histogram_quantile({q:g}, sum by (le) {_delta(buckets, selector, start_s)})"
        value = prometheus.query_vector(queries[q], at=end_s).single_value()
        if value is None or math.isnan(value):
            raise BackendError(f"prometheus at {prometheus.url}: {queries[q]} gave no value")
        estimates[q] = value
    return HistogramWindow(
        metric=metric,
        selector=selector,
        start_s=start_s,
        end_s=end_s,
        count=count,
        bounds=finite,
        quantiles=estimates,
        queries=queries,
    )


def judge_bucket_agreement(
    exact_s: Mapping[float, float],
    window: HistogramWindow,
    *,
    source: str,
    throttling: Throttling | None = None,
    arrival_rate: float = 0.0,
) -> Verdict:
    """Pass when every exact percentile (seconds, by quantile) agrees with Prometheus' estimate.

    Agreement: bucket indices differ by at most one (module docstring). A quantile Prometheus
    did not estimate is ``inconclusive``. With the server's ``throttling`` over the window and the
    ``arrival_rate``: a quantile that disagrees although the requests that arrived while the
    server was throttled (:mod:`stormcheck.load.throttling`) are fewer than the share above it
    fails; one that disagrees with at least that share exposed is ``inconclusive`` — the server
    could not see that time, so the comparison says nothing about the measurement.
    """
    name = "percentiles agree with the histogram"
    missing = sorted(set(exact_s) - set(window.quantiles))
    if missing:
        return Verdict.inconclusive(name, f"no Prometheus estimate for quantile(s) {missing}")
    exposed = throttling.exposed_share(arrival_rate, int(window.count)) if throttling else 0.0
    rows = []
    disagree: list[str] = []
    unseen: list[str] = []
    for q, exact in sorted(exact_s.items()):
        estimate = window.quantiles[q]
        apart = abs(bucket_index(exact, window.bounds) - bucket_index(estimate, window.bounds))
        rows.append(
            {"quantile": q, "log_s": exact, "prometheus_s": estimate, "buckets_apart": apart}
        )
        if apart > 1:
            line = (
                f"p{q * 100:g}: log {exact * 1000:.1f} ms, Prometheus "
                f"{estimate * 1000:.1f} ms ({apart} buckets apart)"
            )
            (unseen if exposed >= 1 - q else disagree).append(line)
    evidence = Evidence(
        description="exact percentiles of the request log against histogram_quantile",
        source=source,
        query="; ".join(window.queries.values()),
        observed=float(max(r["buckets_apart"] for r in rows)) if rows else 0.0,
        objective=1.0,
        details={
            "rows": rows,
            "bounds_s": list(window.bounds),
            "histogram_count": window.count,
            "server_throttling": throttling.to_dict() if throttling else None,
            "exposed_share": exposed,
        },
    )
    summary = ", ".join(
        f"p{r['quantile'] * 100:g} log {r['log_s'] * 1000:.1f} ms / Prometheus "
        f"{r['prometheus_s'] * 1000:.1f} ms"
        for r in rows
    )
    if disagree:
        return Verdict.failed(name, "; ".join(disagree) + f" (all: {summary})", evidence)
    if unseen and throttling is not None:
        return Verdict.inconclusive(
            name,
            "; ".join(unseen) + f": {throttling.container} was CPU-throttled in"
            f" {throttling.throttled_periods} of {throttling.periods} periods for"
            f" {throttling.throttled_s:.2f} s, so ~{exposed:.1%} of the requests arrived while it"
            " could not run — time its histogram cannot see (all: " + summary + ")",
            evidence,
        )
    return Verdict.passed(name, f"within one bucket: {summary}", evidence)
