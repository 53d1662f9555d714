"""Judging a window on complete data: wait (bounded) until the backends cover its end.

A window that ends now always ends a little after the newest data: Prometheus scrapes every few
seconds and the log pipeline (shipper → log store) lags by tens of milliseconds to seconds. Judged
at once, a log-based SLO over ``--since 2m`` is ``inconclusive`` ("the newest log document is
older than the end of the window") although nothing is wrong. So, against **live** backends,
:func:`await_coverage` polls each backend the selected SLOs need until its newest data reaches
the window's end — Prometheus: a sample of every SLO's total series at or after the end; the log
store: a document at or after the end in each index the SLOs count — or until ``timeout_s``
has passed. It never changes the window; a backend still short of the end after the bound is
left to the evaluation, which says ``inconclusive`` with the reason.

Against **retained** data — a run's Prometheus and log data kept after ``down``, read later —
nothing more will arrive: there is no wait, and a window that ends after the newest data is
refused (:class:`~stormcheck.errors.ConfigError`) rather than judged on a part of it.
:class:`DataKind` is that seam; the gate uses ``LIVE`` today, and a reader of retained runs
passes ``RETAINED``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stormcheck.errors import BackendError, ConfigError
from stormcheck.slo.evaluate import QueryClient, newest_sample_s
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import RatioSli, Slo
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Window

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore

__all__ = ["DEFAULT_COVERAGE_TIMEOUT_S", "Coverage", "DataKind", "await_coverage"]

DEFAULT_COVERAGE_TIMEOUT_S = 30.0
_POLL_S = 0.5


class DataKind(enum.Enum):
    """Whether the backends still receive data (``LIVE``) or hold a finished run's (``RETAINED``)."""

    LIVE = "live"
    RETAINED = "retained"


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """How far one backend's data reached the window's end, and how long it took."""

    backend: str
    newest_ms: int | None
    waited_s: float

    def covers(self, window: Window) -> bool:
        """Whether the newest data is at or after the window's end."""
        return self.newest_ms is not None and self.newest_ms >= window.end_ms

    def describe(self, window: Window) -> str:
        """One line for the gate's output."""
        newest = "no data" if self.newest_ms is None else f"newest data {iso_ms(self.newest_ms)}"
        state = "covers" if self.covers(window) else "does not reach"
        return (
            f"{self.backend}: {newest}, {state} the window's end {iso_ms(window.end_ms)}"
            f" (waited {self.waited_s:.1f} s)"
        )


def _probes(
    slos: Sequence[Slo],
    client: QueryClient | None,
    stores: Mapping[str, LogStore],
    at_s: Callable[[], float],
) -> dict[str, Callable[[], int | None]]:
    """A newest-data probe (epoch ms) per backend the SLOs need."""
    probes: dict[str, Callable[[], int | None]] = {}
    ratio = [s.sli for s in slos if isinstance(s.sli, RatioSli)]
    if ratio and client is not None:

        def prometheus() -> int | None:
            newest = [newest_sample_s(client, sli, at_s()) for sli in ratio]
            if any(n is None for n in newest):
                return None
            return round(min(n for n in newest if n is not None) * 1000)

        probes[f"prometheus {client.url}"] = prometheus
    for slo in slos:
        if isinstance(slo.sli, LogRatioSli) and slo.sli.backend in stores:
            store, index = stores[slo.sli.backend], slo.sli.total.index
            probes.setdefault(f"{store.name} {index}", _log_probe(store, index))
    return probes


def _log_probe(store: LogStore, index: str) -> Callable[[], int | None]:
    def probe() -> int | None:
        return store.newest_ms(index)

    return probe


def await_coverage(
    slos: Sequence[Slo],
    window: Window,
    client: QueryClient | None,
    stores: Mapping[str, LogStore],
    *,
    kind: DataKind = DataKind.LIVE,
    timeout_s: float = DEFAULT_COVERAGE_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Coverage]:
    """Each needed backend's coverage of ``window``'s end, after waiting for it if live.

    ``RETAINED``: no wait; :class:`ConfigError` when the window ends after a backend's newest
    data. A backend that cannot be asked is left to the evaluation (``inconclusive`` there).
    The wait ends ``timeout_s`` after the window's end at the latest, so an old window (a
    backfilled or past one) is not waited for.
    """
    probes = _probes(slos, client, stores, wall)
    started = clock()
    # Data for the window's end arrives within the bound after that end, or is too late anyway:
    # an older window gets no wait at all.
    budget_s = min(timeout_s, window.end_ms / 1000 + timeout_s - wall())
    results: list[Coverage] = []
    for backend, probe in probes.items():
        while True:
            try:
                newest = probe()
            except BackendError:
                newest = None
                break  # left to the evaluation, which says why
            done = newest is not None and newest >= window.end_ms
            if done or kind is DataKind.RETAINED or clock() - started >= budget_s:
                break
            sleep(_POLL_S)
        coverage = Coverage(backend=backend, newest_ms=newest, waited_s=clock() - started)
        if kind is DataKind.RETAINED and not coverage.covers(window):
            raise ConfigError(
                f"the window ends at {iso_ms(window.end_ms)}, after the retained data of"
                f" {coverage.describe(window).split(': ', 1)[1].split(',')[0]}; choose a window"
                " inside the run"
            )
        results.append(coverage)
    return results
