"""Evaluating a log-based SLO over a past window, through the log store.

For a window ``[A, B)`` the engine counts the documents of the total selector and of the good
selector with ``@timestamp`` in the window (:class:`~stormcheck.logstore.LogReader`, so each
count is first checked for freshness), then judges good/total like any other SLI
(:mod:`stormcheck.slo.judge`). The evidence holds both queries, as text and as the query DSL
sent, the window, the counts and the budget spent.

``inconclusive``, with the reason: no log store configured, the store unreachable or answering an
error, logs that do not reach the window's end (the pipeline is behind or stopped — counting then
would report too few events), a window that has not ended, and no traffic.
"""

from __future__ import annotations

import time

from stormcheck.logstore.reader import LogReader
from stormcheck.logstore.store import LogStore
from stormcheck.slo.judge import judge_ratio, verdict_name, with_sli
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import Slo, format_duration
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Evidence, SliEvidence, Verdict, Window

__all__ = ["evaluate_logs"]


def evaluate_logs(
    slo: Slo,
    window: Window,
    store: LogStore | None,
    *,
    settle_ms: int = 0,
    now_s: float | None = None,
) -> Verdict:
    """The verdict of the log-based ``slo`` over ``window``, counted by ``store``.

    ``settle_ms``: how far past the window's end the newest log document must be, to allow for
    lines still in flight. Never raises for a backend problem (that is ``inconclusive``);
    ``ValueError`` if ``slo`` is not log-based.
    """
    sli = slo.sli
    if not isinstance(sli, LogRatioSli):
        raise ValueError(f"SLO {slo.name!r} is not log-based; evaluate it with Prometheus")
    name = verdict_name(slo)
    good_query = sli.good.query(window)
    total_query = sli.total.query(window)
    evidence = Evidence(
        description=(
            f"SLI of {slo.name} over {format_duration(window.seconds)} from"
            f" {iso_ms(window.start_ms)} to {iso_ms(window.end_ms)}, counted in log lines"
        ),
        source=sli.backend if store is None else store.name,
        query=f"count({good_query.describe()}) / count({total_query.describe()})",
        window=window,
        objective=slo.objective,
        details={
            "good_dsl": good_query.filter_clause(),
            "total_dsl": total_query.filter_clause(),
            "settle_ms": settle_ms,
        },
        sli=SliEvidence(
            slo_file=slo.located,
            period=slo.period,
            good_query=good_query.describe(),
            total_query=total_query.describe(),
        ),
    )
    if store is None:
        return Verdict.inconclusive(
            name,
            f"no log store to ask: {slo.name} is counted in log lines; set"
            " STORMCHECK_LOGSTORE_URL or use a run with OpenSearch",
            evidence,
        )
    current = time.time() if now_s is None else now_s
    if window.end_ms / 1000 > current:
        return Verdict.inconclusive(
            name,
            f"the window has not ended yet (it ends {window.end_ms / 1000 - current:.0f} s from"
            " now)",
            evidence,
        )
    reader = LogReader(store, settle_ms=settle_ms)
    total = reader.count(total_query)
    if total.value is None:
        return Verdict.inconclusive(name, f"could not count total: {total.reason}", evidence)
    good = reader.count(good_query)
    if good.value is None:
        return Verdict.inconclusive(
            name,
            f"could not count good: {good.reason}",
            with_sli(evidence, total=float(total.value)),
        )
    return judge_ratio(slo, window, float(good.value), float(total.value), evidence)
