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

With ``use_recordings``, a window whose length the SLO's recording rules record (5m, 30m, 1h,
2h, 6h, 1d, 3d: :func:`~stormcheck.slo.rules.recorded_windows`) is read from the recorded error
ratio instead — ``slo:sli_error:ratio_rate1h{slo="<name>"}`` — one sample rather than every raw
sample of the window. Rules are evaluated on their own schedule, so the newest recorded sample
at or before the window's end is used when it is at most ``recording_lag_s`` older than that
end; the verdict then covers the window of the same length ending at that sample, and its
evidence names the series, the sample's time and the lag. Another length, or no recent enough
sample, falls back to the raw counters (the evidence says why). The recorded ratio gives no
counts, so that evidence has ``error_ratio`` instead of ``good``/``total``; a recording of a
window with no traffic is NaN (0/0), ``inconclusive`` as no traffic. One difference: where the
good series does not exist but total has events, the rule records an error ratio of 1 (every
event bad), whereas the raw path is ``inconclusive``.

A log-based SLO is counted by the log store instead (:mod:`stormcheck.slo.log_evaluate`);
:func:`evaluate` sends each SLO to the backend that answers it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

from stormcheck.clients.prometheus import Vector
from stormcheck.errors import BackendError
from stormcheck.slo.judge import (
    judge_error_ratio,
    judge_ratio,
    verdict_name,
    with_details,
    with_sli,
)
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import RatioSli, Slo, format_duration
from stormcheck.slo.rules import record_name, recorded_windows
from stormcheck.verdict import Evidence, SliEvidence, Verdict, Window, combine

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore

__all__ = [
    "DEFAULT_MAX_STALENESS_S",
    "DEFAULT_RECORDING_LAG_S",
    "QueryClient",
    "evaluate",
    "evaluate_all",
    "gate_verdict",
]

DEFAULT_MAX_STALENESS_S = 60.0
# Prometheus' default rule evaluation interval: a recording is at most this old at any instant.
DEFAULT_RECORDING_LAG_S = 60.0


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
    use_recordings: bool = False,
    recording_lag_s: float = DEFAULT_RECORDING_LAG_S,
) -> Verdict:
    """The verdict of ``slo`` over ``window``, from Prometheus (``client``) or the log store (``logs``).

    ``use_recordings`` reads the SLO's recorded error ratio where one covers the window (see the
    module's docstring); it has no effect on log-based SLOs. A backend the SLO needs but that is
    not given makes the verdict ``inconclusive``. Never raises for a backend problem: that is an
    ``inconclusive`` verdict saying what went wrong.
    """
    if slo.is_log_based:
        # imported here: stormcheck.logstore loads both search clients (~1.5 s), which every
        # CLI start would pay through stormcheck.slo
        from stormcheck.slo.log_evaluate import evaluate_logs

        return evaluate_logs(slo, window, logs, settle_ms=settle_ms, now_s=now_s)
    assert isinstance(slo.sli, RatioSli)
    return _evaluate_prometheus(
        slo,
        slo.sli,
        window,
        client,
        max_staleness_s=max_staleness_s,
        now_s=now_s,
        recording_lag_s=recording_lag_s if use_recordings else None,
    )


def _evaluate_prometheus(
    slo: Slo,
    sli: RatioSli,
    window: Window,
    client: QueryClient | None,
    *,
    max_staleness_s: float,
    now_s: float | None,
    recording_lag_s: float | None,
) -> Verdict:
    name = verdict_name(slo)
    span = format_duration(window.seconds)
    at = window.end_ms / 1000
    good_query = sli.good_increase(span)
    total_query = sli.total_increase(span)
    bad_query = sli.bad_increase(span) if sli.bad is not None else None
    base = Evidence(
        description=f"SLI of {slo.name} over {_describe(window)}",
        source="" if client is None else client.url,
        query=f"({good_query}) / ({total_query})",
        window=window,
        objective=slo.objective,
        sli=SliEvidence(
            slo_file=slo.located,
            period=slo.period,
            good_query=good_query,
            total_query=total_query,
        ),
    )

    def inconclusive(reason: str, **counts: object) -> Verdict:
        return Verdict.inconclusive(name, reason, with_sli(base, **counts))

    if client is None:
        return inconclusive(
            "no Prometheus to ask: set STORMCHECK_PROMETHEUS_URL or use a run with Prometheus"
        )
    current = time.time() if now_s is None else now_s
    if at > current:
        return inconclusive(f"the window has not ended yet (it ends {at - current:.0f} s from now)")
    if recording_lag_s is not None:
        recorded = _from_recording(
            slo, sli, window, client, lag_s=recording_lag_s, max_staleness_s=max_staleness_s
        )
        if isinstance(recorded, Verdict):
            return recorded
        base = with_details(base, recording=recorded)
    try:
        total = client.query_vector(total_query, at).single_value()
        if bad_query is None:
            good = client.query_vector(good_query, at).single_value()
        else:
            # good = total - bad, from the same total (no bad series: no bad event)
            bad = client.query_vector(bad_query, at).single_value()
            good = None if total is None else total - (bad or 0.0)
        latest = newest_sample_s(client, sli, at)
    except BackendError as exc:
        return inconclusive(f"could not measure: {exc}")
    if total is None:
        return inconclusive(
            f"no samples of the total series in the window (an increase needs two samples;"
            f" a window shorter than the scrape interval has none): {total_query}"
        )
    stale = _stale(latest, at, max_staleness_s)
    if stale is not None:
        return inconclusive(stale, total=total)
    if good is None and total != 0:
        return inconclusive(
            f"no samples of the good series in the window: {good_query}", total=total
        )
    return judge_ratio(slo, window, 0.0 if good is None else good, total, base)


def newest_sample_s(client: QueryClient, sli: RatioSli, at: float) -> float | None:
    """The time (epoch s) of the newest sample of any total series at or before ``at``."""
    newest: float | None = None
    for selector in sli.total_selectors():
        value = client.query_vector(f"max(timestamp({selector}))", at).single_value()
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


def _stale(latest: float | None, at: float, max_staleness_s: float) -> str | None:
    """Why the backend is stale at ``at``, or ``None`` when its newest total sample is recent."""
    if latest is not None and at - latest <= max_staleness_s:
        return None
    age = "none in the last 5m" if latest is None else f"the newest is {at - latest:.0f} s old"
    return (
        f"stale backend: no sample of the total series within {max_staleness_s:g} s before"
        f" the window's end ({age})"
    )


def _from_recording(
    slo: Slo,
    sli: RatioSli,
    window: Window,
    client: QueryClient,
    *,
    lag_s: float,
    max_staleness_s: float,
) -> Verdict | str:
    """The verdict from the recorded error ratio, or why the raw counters must answer instead."""
    span = format_duration(window.seconds)
    if window.seconds not in recorded_windows(slo):
        recorded = ", ".join(format_duration(w) for w in recorded_windows(slo))
        return f"no recording of a {span} window (recorded: {recorded}); counted from the counters"
    series = f'{record_name(round(window.seconds))}{{slo="{slo.name}"}}'
    at = window.end_ms / 1000
    try:
        recorded_at = client.query_vector(f"timestamp({series})", at).single_value()
        if recorded_at is None or at - recorded_at > lag_s:
            return (
                f"no sample of {series} in the {lag_s:g} s before the window's end; counted from"
                " the counters"
            )
        error_ratio = client.query_vector(series, recorded_at).single_value()
        latest = newest_sample_s(client, sli, recorded_at)
    except BackendError as exc:
        return Verdict.inconclusive(
            verdict_name(slo),
            f"could not measure: {exc}",
            Evidence(
                description=f"SLI of {slo.name} over {_describe(window)} from {series}",
                source=client.url,
                query=f"1 - {series}",
                window=window,
                objective=slo.objective,
                sli=SliEvidence(slo_file=slo.located, period=slo.period, recorded_series=series),
            ),
        )
    end_ms = round(recorded_at * 1000)
    covered = Window(end_ms - (window.end_ms - window.start_ms), end_ms)
    evidence = Evidence(
        description=f"SLI of {slo.name} over {_describe(covered)} from its recording rule",
        source=client.url,
        query=f"1 - {series}",
        window=covered,
        objective=slo.objective,
        details={"requested_window": [window.start_ms, window.end_ms]},
        sli=SliEvidence(
            slo_file=slo.located,
            period=slo.period,
            recorded_series=series,
            recorded_at_ms=end_ms,
            recording_lag_s=round(at - recorded_at, 3),
        ),
    )
    if error_ratio is None:
        return f"{series} vanished between two queries; counted from the counters"
    stale = _stale(latest, recorded_at, max_staleness_s)
    if stale is not None:
        return Verdict.inconclusive(
            verdict_name(slo), stale, with_sli(evidence, error_ratio=error_ratio)
        )
    return judge_error_ratio(slo, covered, error_ratio, evidence)


def evaluate_all(
    slos: Iterable[Slo],
    window: Window,
    client: QueryClient | None,
    *,
    logs: LogStore | Mapping[str, LogStore] | None = None,
    max_staleness_s: float = DEFAULT_MAX_STALENESS_S,
    settle_ms: int = 0,
    now_s: float | None = None,
    use_recordings: bool = False,
    recording_lag_s: float = DEFAULT_RECORDING_LAG_S,
) -> list[Verdict]:
    """One verdict per SLO over the same window, in order.

    ``logs`` is the log store of log-based SLOs, or one store per backend name (``opensearch``);
    ``use_recordings`` and ``recording_lag_s`` are :func:`evaluate`'s.
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
                use_recordings=use_recordings,
                recording_lag_s=recording_lag_s,
            )
        )
    return verdicts


def gate_verdict(verdicts: Iterable[Verdict], name: str = "slo gate") -> Verdict:
    """The gate's verdict: any fail fails, else any inconclusive, else pass (nothing: inconclusive)."""
    return combine(name, verdicts)
