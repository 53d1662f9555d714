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

A log-based SLO is counted by the log store instead (:mod:`stormcheck.slo.log_evaluate`);
:func:`evaluate` sends each SLO to the backend that answers it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from stormcheck.clients.prometheus import Vector
from stormcheck.errors import BackendError
from stormcheck.slo.judge import judge_ratio, verdict_name, with_details
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import RatioSli, Slo, format_duration
from stormcheck.verdict import Evidence, Verdict, Window, combine

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore

__all__ = ["DEFAULT_MAX_STALENESS_S", "QueryClient", "evaluate", "evaluate_all", "gate_verdict"]

DEFAULT_MAX_STALENESS_S = 60.0


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
    client: QueryClient | None,
    *,
    logs: LogStore | None = None,
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    settle_ms: int = 0,
    now_s: float | None = None,
) -> Verdict:
    """The verdict of ``slo`` over ``window``, from Prometheus (``client``) or the log store (``logs``).

    A backend the SLO needs but that is not given makes the verdict ``inconclusive``. Never
    raises for a backend problem: that is an ``inconclusive`` verdict saying what went wrong.
    """
    if slo.is_log_based:
        # imported here: stormcheck.logstore loads both search clients (~1.5 s), which every
        # CLI start would pay through stormcheck.slo
        from stormcheck.slo.log_evaluate import evaluate_logs

        return evaluate_logs(slo, window, logs, settle_ms=settle_ms, now_s=now_s)
    assert isinstance(slo.sli, RatioSli)
    return _evaluate_prometheus(
        slo, slo.sli, window, client, max_staleness_s=max_staleness_s, now_s=now_s
    )


def _evaluate_prometheus(
    slo: Slo,
    sli: RatioSli,
    window: Window,
    client: QueryClient | None,
    *,
    max_staleness_s: float,
    now_s: float | None,
) -> Verdict:
    name = verdict_name(slo)
    span = format_duration(window.seconds)
    at = window.end_ms / 1000
    good_query = sli.good_increase(span)
    total_query = sli.total_increase(span)
    freshness_query = f"max(timestamp({sli.total}))"
    base = Evidence(
        description=f"SLI of {slo.name} over {_describe(window)}",
        source="" if client is None else client.url,
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
        return Verdict.inconclusive(name, reason, with_details(base, **details))

    if client is None:
        return inconclusive(
            "no Prometheus to ask: set STORMCHECK_PROMETHEUS_URL or use a run with Prometheus"
        )
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
    if good is None and total != 0:
        return inconclusive(
            f"no samples of the good series in the window: {good_query}", total=total
        )
    return judge_ratio(slo, window, 0.0 if good is None else good, total, base)


def evaluate_all(
    slos: Iterable[Slo],
    window: Window,
    client: QueryClient | None,
    *,
    logs: LogStore | Mapping[str, LogStore] | None = None,
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    settle_ms: int = 0,
    now_s: float | None = None,
) -> list[Verdict]:
    """One verdict per SLO over the same window, in order.

    ``logs`` is the log store of log-based SLOs, or one store per backend name (``opensearch``).
    """
    verdicts = []
    for slo in slos:
        store: LogStore | None = None
        if not isinstance(logs, Mapping):
            store = logs
        elif isinstance(slo.sli, LogRatioSli):
            store = logs.get(slo.sli.backend)
        verdicts.append(
            evaluate(
                slo,
                window,
                client,
                logs=store,
                max_staleness_s=max_staleness_s,
                settle_ms=settle_ms,
                now_s=now_s,
            )
        )
    return verdicts


def gate_verdict(verdicts: Iterable[Verdict], name: str = "slo gate") -> Verdict:
    """The gate's verdict: any fail fails, else any inconclusive, else pass (nothing: inconclusive)."""
    return combine(name, verdicts)
