"""Joint assertions: two backends must tell the same story about the same window.

The typical pair is the 5xx responses counted by Prometheus and the ERROR lines the log store
holds for the same window: when one side has events the other lacks, a signal is being lost
(a scrape gap, a log shipper that dropped lines). :func:`counts_agree` compares two counts within
a stated tolerance and, when they disagree, says which side is missing how many.

Sides: :class:`PrometheusEventCount` (the increase of counters) and :class:`LogEventCount`
(log documents in the window, through a freshness-checked
:class:`~stormcheck.logstore.LogReader`: logs that do not reach the window's end cannot be
counted, so that side is inconclusive rather than short). :func:`error_lines` and
:func:`server_error_lines` build the usual log sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from stormcheck.errors import BackendError
from stormcheck.logstore.query import DEFAULT_INDEX
from stormcheck.logstore.reader import LogReader
from stormcheck.logstore.store import LogStore
from stormcheck.slo.evaluate import QueryClient
from stormcheck.slo.log_sli import LogSelector
from stormcheck.slo.model import format_duration
from stormcheck.verdict import Evidence, Verdict, Window

__all__ = [
    "EventCount",
    "LogEventCount",
    "PrometheusEventCount",
    "Tolerance",
    "counts_agree",
    "error_lines",
    "server_error_lines",
]


class EventCount(Protocol):
    """A source that counts events in a window (a PromQL counter, a log-store query, ...)."""

    @property
    def label(self) -> str:
        """What is counted, where: ``prometheus 5xx``, ``log store ERROR lines``."""
        ...

    @property
    def query(self) -> str:
        """The query text, for the evidence."""
        ...

    def count(self, window: Window) -> float:
        """The number of events in ``window``; :class:`BackendError` when it cannot be measured."""
        ...


@dataclass(frozen=True, slots=True)
class PrometheusEventCount:
    """Events counted by Prometheus: ``sum(increase(<selector>[window]))`` at the window's end.

    No series in the window counts as 0 events (a 5xx counter that never incremented is often
    never created).
    """

    client: QueryClient
    selector: str
    label: str = "prometheus"

    @property
    def query(self) -> str:
        """The query, with the window left as ``<window>``."""
        return f"sum(increase({self.selector}[<window>]))"

    def count(self, window: Window) -> float:
        """The increase of the selected counters over ``window``."""
        expr = f"sum(increase({self.selector}[{format_duration(window.seconds)}]))"
        value = self.client.query_vector(expr, window.end_ms / 1000).single_value()
        return 0.0 if value is None else value


@dataclass(frozen=True, slots=True)
class LogEventCount:
    """Events counted by the log store: documents ``selector`` picks in the window.

    The count is checked for freshness first (:class:`~stormcheck.logstore.LogReader`): when the
    newest document of the index is older than the window's end plus ``settle_ms``, or the store
    cannot answer, :meth:`count` raises :class:`BackendError` with that reason.
    """

    store: LogStore
    selector: LogSelector
    label: str = "log store"
    settle_ms: int = 0

    @property
    def query(self) -> str:
        """The selection, with the window left out."""
        return f"count({self.selector.describe()})"

    def count(self, window: Window) -> float:
        """The number of matching documents with ``@timestamp`` in ``window``."""
        answer = LogReader(self.store, settle_ms=self.settle_ms).count(self.selector.query(window))
        if answer.value is None:
            raise BackendError(answer.reason)
        return float(answer.value)


def error_lines(
    store: LogStore,
    filters: Mapping[str, str | int] | None = None,
    *,
    index: str = DEFAULT_INDEX,
    label: str = "log store ERROR lines",
    settle_ms: int = 0,
) -> LogEventCount:
    """The log side counting ERROR lines (``level=error``) that also match ``filters``."""
    selector = LogSelector(index=index, filters={**(filters or {}), "level": "error"})
    return LogEventCount(store, selector, label, settle_ms)


def server_error_lines(
    store: LogStore,
    filters: Mapping[str, str | int] | None = None,
    *,
    index: str = DEFAULT_INDEX,
    label: str = "log store 5xx lines",
    settle_ms: int = 0,
) -> LogEventCount:
    """The log side counting request lines answered 5xx (``500 <= status < 600``) that also
    match ``filters``."""
    selector = LogSelector(index=index, filters=dict(filters or {}), status_range=(500, 600))
    return LogEventCount(store, selector, label, settle_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """How far two counts may differ: ``absolute`` events, or ``relative`` share of the larger."""

    absolute: float = 0.0
    relative: float = 0.0

    def allows(self, a: float, b: float) -> bool:
        """Whether ``a`` and ``b`` agree within this tolerance."""
        return abs(a - b) <= max(self.absolute, self.relative * max(abs(a), abs(b)))

    def __str__(self) -> str:
        return f"±max({self.absolute:g}, {self.relative:.1%})"


def counts_agree(
    name: str, window: Window, left: EventCount, right: EventCount, tolerance: Tolerance
) -> Verdict:
    """``pass`` when both sides count the same events within ``tolerance``, else ``fail`` naming
    the side that is missing events; ``inconclusive`` when a side cannot be measured."""
    counts: dict[str, float] = {}
    for side in (left, right):
        try:
            counts[side.label] = side.count(window)
        except BackendError as exc:
            return Verdict.inconclusive(
                name,
                f"cannot count {side.label}: {exc}",
                Evidence(description=f"{side.label} count", query=side.query, window=window),
            )
    a, b = counts[left.label], counts[right.label]
    evidence = tuple(
        Evidence(description=f"{side.label} count", query=side.query, window=window, observed=n)
        for side, n in ((left, a), (right, b))
    )
    if tolerance.allows(a, b):
        return Verdict.passed(
            name, f"{left.label} {a:g} and {right.label} {b:g} agree within {tolerance}", *evidence
        )
    short, long_ = (left, right) if a < b else (right, left)
    missing = abs(a - b)
    return Verdict.failed(
        name,
        f"{short.label} is missing {missing:g} of the {max(a, b):g} events {long_.label} saw"
        f" ({left.label} {a:g}, {right.label} {b:g}; tolerance {tolerance})",
        *evidence,
    )
