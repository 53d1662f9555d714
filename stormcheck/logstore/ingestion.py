"""Measured log ingestion: when does each correlation id the API returned become searchable?

An :class:`IngestionWatch` runs beside the load: the load reports every correlation id with the
time its response arrived (:meth:`IngestionWatch.expect`); a thread asks the log store, every
``poll_s``, which of them are searchable (a terms aggregation on ``request_id`` over the run's
access lines) and notes when each first appears. The lag of an id is that moment minus its
response time, so its precision is the poll interval plus one query. :meth:`IngestionWatch.finish`
waits until every id is found or the last one's deadline passed, counts the copies of each, and
returns an :class:`IngestionReport`: a verdict (every id exactly once within the deadline) and a
timeline note with the lag's p50/p95/max.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from stormcheck.errors import BackendError
from stormcheck.load.analysis import percentile
from stormcheck.logstore.query import DEFAULT_INDEX, LogQuery, Terms
from stormcheck.logstore.store import LogStore
from stormcheck.timeline import Event, EventKind, Timeline, now_ms
from stormcheck.verdict import Evidence, Verdict, Window

__all__ = ["ACCESS_LOGGER", "IngestionReport", "IngestionWatch"]

#: The shop's logger of its one access line per request (platform/shop/src/shop/middleware.py).
ACCESS_LOGGER = "shop.access"
_NAME = "log ingestion"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestionReport:
    """What the watch saw: per id, when it was first searchable and how many copies there are."""

    run_id: str
    window: Window
    deadline_ms: int
    poll_ms: int
    responses_ms: Mapping[str, int]
    first_seen_ms: Mapping[str, int]
    copies: Mapping[str, int]
    error: str = ""

    @property
    def lags_ms(self) -> tuple[int, ...]:
        """Response → searchable, per found id, ascending."""
        return tuple(
            sorted(self.first_seen_ms[i] - self.responses_ms[i] for i in self.first_seen_ms)
        )

    @property
    def missing(self) -> tuple[str, ...]:
        """Ids never found."""
        return tuple(sorted(set(self.responses_ms) - set(self.first_seen_ms)))

    @property
    def late(self) -> tuple[str, ...]:
        """Ids found, but after their deadline."""
        return tuple(
            sorted(
                i
                for i, seen in self.first_seen_ms.items()
                if seen - self.responses_ms[i] > self.deadline_ms
            )
        )

    @property
    def not_once(self) -> dict[str, int]:
        """Found ids whose access line is not there exactly once, with their count."""
        return {i: n for i in self.first_seen_ms if (n := self.copies.get(i, 0)) != 1}

    def lag_summary(self) -> dict[str, float | int]:
        """``count``, ``p50_ms``, ``p95_ms``, ``max_ms`` of the lags (only ``count`` when none)."""
        lags = [float(v) for v in self.lags_ms]
        if not lags:
            return {"count": 0}
        return {
            "count": len(lags),
            "p50_ms": percentile(lags, 0.5),
            "p95_ms": percentile(lags, 0.95),
            "max_ms": lags[-1],
        }

    def _evidence(self) -> Evidence:
        summary = self.lag_summary()
        return Evidence(
            description="API response → access log line searchable, per correlation id",
            source="log store",
            query=f"terms(request_id) where run={self.run_id} logger={ACCESS_LOGGER}",
            window=self.window,
            observed=float(summary.get("max_ms", 0)),
            details={
                "ids": len(self.responses_ms),
                "found": len(self.first_seen_ms),
                "missing": len(self.missing),
                "late": len(self.late),
                "not_once": len(self.not_once),
                "deadline_ms": self.deadline_ms,
                "lag_precision_ms": self.poll_ms,
                **summary,
            },
        )

    def verdict(self) -> Verdict:
        """``pass``: every id's access line exactly once, each within the deadline.

        ``inconclusive`` when no id was expected or the store could not answer at the end.
        """
        evidence = self._evidence()
        if not self.responses_ms:
            return Verdict.inconclusive(_NAME, "no correlation id to look for", evidence)
        if self.error:
            return Verdict.inconclusive(
                _NAME, f"the log store could not answer: {self.error}", evidence
            )
        problems = []
        if self.missing:
            problems.append(f"{len(self.missing)} id(s) never found, e.g. {self.missing[:3]}")
        if self.late:
            problems.append(
                f"{len(self.late)} id(s) found after {self.deadline_ms} ms, e.g. {self.late[:3]}"
            )
        if self.not_once:
            sample = dict(list(self.not_once.items())[:3])
            problems.append(f"{len(self.not_once)} id(s) not exactly once: {sample}")
        objective = (
            f"every one of {len(self.responses_ms)} correlation ids searchable exactly once"
            f" within {self.deadline_ms / 1000:g} s"
        )
        if problems:
            return Verdict.failed(_NAME, f"{objective}: " + "; ".join(problems), evidence)
        summary = self.lag_summary()
        return Verdict.passed(
            _NAME,
            f"{objective}: holds (lag p50 {summary['p50_ms']:g} ms, p95 {summary['p95_ms']:g} ms,"
            f" max {summary['max_ms']:g} ms)",
            evidence,
        )

    def record(self, timeline: Timeline) -> Event:
        """Put the measured lag on the run's timeline as a ``note``; return the event."""
        attrs: dict[str, Any] = {
            "run": self.run_id,
            "window_start_ms": self.window.start_ms,
            "window_end_ms": self.window.end_ms,
            "ids": len(self.responses_ms),
            "found": len(self.first_seen_ms),
            "missing": len(self.missing),
            "not_once": len(self.not_once),
            "lag_precision_ms": self.poll_ms,
            **self.lag_summary(),
        }
        return timeline.record(EventKind.NOTE, "log ingestion lag", **attrs)


class IngestionWatch:
    """Watches the log store for correlation ids while load runs; a context manager.

    ``store`` is only read (one terms aggregation per poll); ``index`` defaults to every daily
    log index. The ids' lines are looked for from ``since_ms`` (default: when the watch starts);
    for a backlog, give the outage's start.
    """

    def __init__(
        self,
        store: LogStore,
        run_id: str,
        *,
        deadline_s: float = 15.0,
        poll_s: float = 0.5,
        index: str = DEFAULT_INDEX,
        since_ms: int | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.deadline_ms = int(deadline_s * 1000)
        self.poll_ms = int(poll_s * 1000)
        self.index = index
        self._since_ms = since_ms
        self._started_ms = now_ms() if since_ms is None else since_ms
        self._responses: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._copies: dict[str, int] = {}
        self._error = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingestion-watch", daemon=True)

    def __enter__(self) -> Self:
        if self._since_ms is None:
            self._started_ms = now_ms()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def expect(self, request_id: str, response_ms: int) -> None:
        """Look for ``request_id``, whose response arrived at ``response_ms`` (UTC epoch ms)."""
        with self._lock:
            self._responses.setdefault(request_id, response_ms)

    def _query(self) -> LogQuery:
        # a second before the watch started: Docker stamps a line before the client sees it
        window = Window(self._started_ms - 1000, now_ms() + 1000)
        return LogQuery(window=window, index=self.index).where(
            run=self.run_id, logger=ACCESS_LOGGER
        )

    def _poll(self) -> None:
        with self._lock:
            wanted = len(self._responses)
        try:
            buckets = self.store.aggregate(self._query(), Terms("request_id", size=wanted + 1000))
        except BackendError as exc:
            with self._lock:
                self._error = str(exc)
            return
        at = now_ms()
        with self._lock:
            self._error = ""
            self._copies = {str(b.key): b.count for b in buckets}
            for key in self._copies:
                if key in self._responses:
                    self._seen.setdefault(key, at)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._poll()
            self._stop.wait(max(0.0, self.poll_ms / 1000 - (time.monotonic() - started)))

    def _done(self) -> bool:
        with self._lock:
            if not self._responses:
                return True
            if len(self._seen) == len(self._responses):
                return True
            return now_ms() > max(self._responses.values()) + self.deadline_ms

    def finish(self) -> IngestionReport:
        """Wait until every id is found or the last deadline passed; stop; return the report."""
        while not self._done():
            time.sleep(self.poll_ms / 1000)
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()  # the final copy counts, after the last poll of the thread
        with self._lock:
            responses = dict(self._responses)
            end = max(responses.values(), default=self._started_ms) + 1
            return IngestionReport(
                run_id=self.run_id,
                window=Window(self._started_ms, max(end, self._started_ms + 1)),
                deadline_ms=self.deadline_ms,
                poll_ms=self.poll_ms,
                responses_ms=responses,
                first_seen_ms={i: t for i, t in self._seen.items() if i in responses},
                copies=dict(self._copies),
                error=self._error,
            )
