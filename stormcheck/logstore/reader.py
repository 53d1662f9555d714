"""Log queries the harness can trust: every answer is checked for freshness first.

Logs arrive late, or not at all while the shipper or the store is down, and a log query over a
window the pipeline has not delivered yet would count zero errors where there were many. So a
:class:`LogReader` first asks for the newest document of the index; if it is older than the end
of the window (plus ``settle_ms``), the answer is ``inconclusive`` with that reason, never a
count. A :class:`~stormcheck.errors.BackendError` is ``inconclusive`` too. Judging a measured
answer is the caller's: :meth:`LogAnswer.judge` turns it into a
:class:`~stormcheck.verdict.Verdict` with its evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stormcheck.errors import BackendError
from stormcheck.logstore.query import Aggregation, LogQuery
from stormcheck.logstore.store import Bucket, LogRecord, LogStore
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Evidence, Verdict

__all__ = ["LogAnswer", "LogReader"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LogAnswer[T]:
    """A log query's value, or (``value is None``) why it could not be measured."""

    value: T | None
    reason: str
    evidence: Evidence

    @property
    def measured(self) -> bool:
        """Whether the store answered and its logs cover the whole window."""
        return self.value is not None

    def judge(self, name: str, holds: Callable[[T], bool], objective: str) -> Verdict:
        """``pass``/``fail`` by ``holds(value)``; ``inconclusive`` (with the reason) if unmeasured."""
        if self.value is None:
            return Verdict.inconclusive(name, self.reason, self.evidence)
        if holds(self.value):
            return Verdict.passed(name, f"{objective}: holds ({self.reason})", self.evidence)
        return Verdict.failed(name, f"{objective}: does not hold ({self.reason})", self.evidence)


class LogReader:
    """Freshness-checked count, search and aggregate over a :class:`LogStore`."""

    def __init__(self, store: LogStore, *, settle_ms: int = 0) -> None:
        self.store = store
        self.settle_ms = settle_ms

    def _evidence(self, what: str, query: LogQuery, **details: object) -> Evidence:
        return Evidence(
            description=f"{what} of log documents",
            source=self.store.name,
            query=query.describe(),
            window=query.window,
            details=details,
        )

    def _staleness(self, query: LogQuery) -> str | None:
        newest = self.store.newest_ms(query.index)
        needed = query.window.end_ms + self.settle_ms
        if newest is None:
            return f"no log document in {query.index} at all: the log pipeline delivered nothing"
        if newest < needed:
            return (
                f"the newest log document in {query.index} is from {iso_ms(newest)}, older than"
                f" the end of the window {iso_ms(query.window.end_ms)}"
                + (f" plus {self.settle_ms} ms" if self.settle_ms else "")
                + ": the log pipeline is behind or stopped"
            )
        return None

    def _answer[T](self, what: str, query: LogQuery, run: Callable[[], T]) -> LogAnswer[T]:
        try:
            stale = self._staleness(query)
            if stale is not None:
                return LogAnswer(value=None, reason=stale, evidence=self._evidence(what, query))
            value = run()
        except BackendError as exc:
            return LogAnswer(
                value=None,
                reason=f"the log store could not answer: {exc}",
                evidence=self._evidence(what, query),
            )
        return LogAnswer(
            value=value,
            reason=f"{what} over {query.window.seconds:g} s of fresh logs",
            evidence=self._evidence(what, query),
        )

    def count(self, query: LogQuery) -> LogAnswer[int]:
        """How many documents match ``query``, if the logs cover its window."""
        answer = self._answer("count", query, lambda: self.store.count(query))
        if answer.value is None:
            return answer
        evidence = self._evidence("count", query)
        return LogAnswer(
            value=answer.value,
            reason=answer.reason,
            evidence=Evidence(
                description=evidence.description,
                source=evidence.source,
                query=evidence.query,
                window=evidence.window,
                observed=float(answer.value),
            ),
        )

    def search(self, query: LogQuery, *, size: int = 100) -> LogAnswer[tuple[LogRecord, ...]]:
        """Up to ``size`` matching documents, oldest first, if the logs cover the window."""
        return self._answer("search", query, lambda: self.store.search(query, size=size))

    def aggregate(self, query: LogQuery, aggregation: Aggregation) -> LogAnswer[tuple[Bucket, ...]]:
        """The buckets of ``aggregation``, if the logs cover the window."""
        return self._answer("aggregate", query, lambda: self.store.aggregate(query, aggregation))
