"""Evaluating an SLO over a past window: a :class:`~stormcheck.verdict.Verdict` with evidence.

For a window ``[A, B)`` the engine asks Prometheus, at ``B``, for
``sum(increase(<good>[B-A]))`` and ``sum(increase(<total>[B-A]))``. ``increase`` corrects counter
resets and, where a window edge falls between two samples, extrapolates by Prometheus' own rules,
so the answer is Prometheus' answer to "how many events in this window". The SLI is good/total;
the verdict is ``pass`` when the SLI meets the objective and ``fail`` when it does not.

What cannot be measured is ``inconclusive``, with the reason: Prometheus unreachable or answering
an error, no samples (fewer than two per series in the window — always the case for a window
shorter than the scrape interval), no traffic (0 events), a good count above the total (the
queries do not count the same events), a window that has not ended, and a stale backend (no
sample of the total series within ``max_staleness_s`` before the window's end).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from stormcheck.clients.prometheus import Vector
from stormcheck.errors import BackendError
from stormcheck.slo.budget import budget_spent, burn_rate
from stormcheck.slo.model import Slo, format_duration
from stormcheck.verdict import Evidence, Verdict, Window, combine

__all__ = ["DEFAULT_MAX_STALENESS_S", "QueryClient", "evaluate", "evaluate_all", "gate_verdict"]

DEFAULT_MAX_STALENESS_S = 60.0
# Prometheus computes good and total separately; their ratio may exceed 1 by rounding only.
_RATIO_SLACK = 1e-9


class QueryClient(Protocol):
    """What evaluation needs of a Prometheus client (:class:`PrometheusClient` has it)."""

    @property
    def url(self) -> str:
        """The server's base URL, quoted in the evidence."""
        ...

    def query_vector(self, expr: str, at: float | None = None) -> Vector:
        """Evaluate ``expr`` at ``at`` (epoch seconds); :class:`BackendError` on any failure."""
        ...


def _describe(window: Window) -> str:
    return f"{format_duration(window.seconds)} ending at {window.end_ms} ms"


def evaluate(
    slo: Slo,
    window: Window,
    client: QueryClient,
    *,
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    now_s: float | None = None,
) -> Verdict:
    """The verdict of ``slo`` over ``window``, from the Prometheus behind ``client``.

    Never raises for a backend problem: that is an ``inconclusive`` verdict saying what went wrong.
    """
    name = f"slo/{slo.name}"
    span = format_duration(window.seconds)
    at = window.end_ms / 1000
    good_query = slo.sli.good_increase(span)
    total_query = slo.sli.total_increase(span)
    freshness_query = f"max(timestamp({slo.sli.total}))"
    base = Evidence(
        description=f"SLI of {slo.name} over {_describe(window)}",
        source=client.url,
        query=f"({good_query}) / ({total_query})",
        window=window,
        objective=slo.objective,
        details={
            "slo_file": slo.located,
            "good_query": good_query,
            "total_query": total_query,
            "period": slo.period,
        },
    )

    def inconclusive(reason: str, **details: object) -> Verdict:
        evidence = Evidence(
            description=base.description,
            source=base.source,
            query=base.query,
            window=window,
            objective=slo.objective,
            details={**base.details, **details},
        )
        return Verdict.inconclusive(name, reason, evidence)

    current = time.time() if now_s is None else now_s
    if at > current:
        return inconclusive(f"the window has not ended yet (it ends {at - current:.0f} s from now)")
    try:
        total = client.query_vector(total_query, at).single_value()
        good = client.query_vector(good_query, at).single_value()
        latest = client.query_vector(freshness_query, at).single_value()
    except BackendError as exc:
        return inconclusive(f"could not measure: {exc}")
    if total is None:
        return inconclusive(
            f"no samples of the total series in the window (an increase needs two samples;"
            f" a window shorter than the scrape interval has none): {total_query}"
        )
    if latest is None or at - latest > max_staleness_s:
        age = "none in the last 5m" if latest is None else f"the newest is {at - latest:.0f} s old"
        return inconclusive(
            f"stale backend: no sample of the total series within {max_staleness_s:g} s before"
            f" the window's end ({age})",
            total=total,
        )
    if total == 0:
        return inconclusive("no traffic: 0 events in the window, so there is no SLI", total=0.0)
    if good is None:
        return inconclusive(
            f"no samples of the good series in the window: {good_query}", total=total
        )
    if good > total * (1 + _RATIO_SLACK) or good < 0:
        return inconclusive(
            f"good ({good:g}) is not between 0 and total ({total:g}): the queries do not count"
            " the same events",
            good=good,
            total=total,
        )
    sli = min(good / total, 1.0)
    spent = budget_spent(sli, window.seconds, slo.objective, slo.period_s)
    burn = burn_rate(sli, slo.objective)
    evidence = Evidence(
        description=base.description,
        source=base.source,
        query=base.query,
        window=window,
        observed=sli,
        objective=slo.objective,
        budget_spent=spent,
        details={**base.details, "good": good, "total": total, "burn_rate": burn},
    )
    summary = (
        f"over {span}, {spent:.2%} of the {slo.period} error budget spent"
        f" (burn rate {burn:.2f}x; {good:.6g} good of {total:.6g})"
    )
    if sli >= slo.objective:
        return Verdict.passed(
            name, f"SLI {sli:.6f} meets objective {slo.objective:g} {summary}", evidence
        )
    return Verdict.failed(
        name, f"SLI {sli:.6f} is below objective {slo.objective:g} {summary}", evidence
    )


def evaluate_all(
    slos: Iterable[Slo],
    window: Window,
    client: QueryClient,
    *,
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    now_s: float | None = None,
) -> list[Verdict]:
    """One verdict per SLO over the same window, in order."""
    return [
        evaluate(slo, window, client, max_staleness_s=max_staleness_s, now_s=now_s) for slo in slos
    ]


def gate_verdict(verdicts: Iterable[Verdict], name: str = "slo gate") -> Verdict:
    """The gate's verdict: any fail fails, else any inconclusive, else pass (nothing: inconclusive)."""
    return combine(name, verdicts)
