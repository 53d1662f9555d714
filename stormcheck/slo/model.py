"""The SLO as the engine understands it: a ratio SLI and one objective.

This is the subset of OpenSLO v1 the engine evaluates and turns into rules (see
:mod:`stormcheck.slo.loader` for the YAML side): ``kind: SLO`` with an inline
``indicator.spec.ratioMetric`` (``counter: true``; ``good`` and ``total`` Prometheus queries, or
log-store selectors — :mod:`stormcheck.slo.log_sli`), a rolling ``timeWindow`` and one
``objectives[].target``; ``budgetingMethod: Occurrences``.

A query names the counter series to count: an instant-vector selector such as
``haproxy_backend_http_responses_total{proxy="checkout",code!="5xx"}``, which the engine wraps as
``sum(increase(<query>[<window>]))``, or an expression over counters such as
``sum(rate(x_total[5m]))``, which it rewrites to the window
(:mod:`stormcheck.slo.expressions`), so one SLO can be asked about any window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stormcheck.inputs import DURATION_UNITS, parse_duration
from stormcheck.slo.expressions import CounterQuery, QueryError
from stormcheck.slo.log_sli import LogRatioSli

if TYPE_CHECKING:
    from stormcheck.slo.budget import BurnRateAlert

__all__ = [
    "DURATION_UNITS",
    "RatioSli",
    "Slo",
    "format_duration",
    "parse_duration",
]


def format_duration(seconds: float) -> str:
    """A PromQL duration for ``seconds``: the largest unit that divides it (``3600`` → ``1h``).

    Fractions of a second become milliseconds (``1.5`` → ``1500ms``).
    """
    milliseconds = round(seconds * 1000)
    if milliseconds <= 0:
        raise ValueError(f"a duration must be positive, got {seconds!r} s")
    if milliseconds % 1000:
        return f"{milliseconds}ms"
    whole = milliseconds // 1000
    for unit, size in sorted(DURATION_UNITS.items(), key=lambda item: -item[1]):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    raise AssertionError("unreachable: 1 s divides every whole number of seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioSli:
    """good/total (or bad/total) over counters: the share of events that were good.

    Each query is a bare series selector or an expression over counters
    (:mod:`stormcheck.slo.expressions`), rewritten to whichever window is asked. Give ``good``
    or ``bad``, not both (``bad`` is how Sloth and OpenSLO's ``bad`` write it).
    """

    good: str | None = None
    total: str
    bad: str | None = None

    def __post_init__(self) -> None:
        if (self.good is None) == (self.bad is None):
            raise ValueError("a ratio SLI needs exactly one of good and bad")

    @staticmethod
    def _increase(query: str, window: str) -> str:
        try:
            return CounterQuery(query).increase(window)
        except QueryError:
            # Built in code without the loader's checks: Prometheus will answer the error.
            return f"sum(increase({query}[{window}]))"

    @staticmethod
    def _rate(query: str, window: str) -> str:
        try:
            return CounterQuery(query).rate(window)
        except QueryError:
            return f"sum(rate({query}[{window}]))"

    def good_increase(self, window: str) -> str:
        """PromQL for the number of good events in ``window`` (``total - bad`` when bad is given)."""
        if self.good is not None:
            return self._increase(self.good, window)
        assert self.bad is not None
        return f"{self.total_increase(window)} - {self.bad_increase(window)}"

    def bad_increase(self, window: str) -> str:
        """PromQL for the number of bad events in ``window``; ``ValueError`` without ``bad``."""
        if self.bad is None:
            raise ValueError("this SLI counts good events, not bad ones")
        return self._increase(self.bad, window)

    def total_increase(self, window: str) -> str:
        """PromQL for the number of events in the ``window`` before the evaluation time."""
        return self._increase(self.total, window)

    def error_ratio(self, window: str) -> str:
        """PromQL for the share of bad events over ``window`` (rates, so empty windows are NaN).

        Every rewritten query is one ``sum(...)``, so it needs no parentheses of its own.
        """
        total = self._rate(self.total, window)
        if self.bad is not None:
            # `or vector(0)`: when no event was bad, the bad series may not exist at all.
            return f"({self._rate(self.bad, window)} or vector(0)) / {total}"
        assert self.good is not None
        # `or vector(0)`: when every event is bad, the good series may not exist at all.
        return f"1 - (({self._rate(self.good, window)} or vector(0)) / {total})"

    def total_selectors(self) -> tuple[str, ...]:
        """The series selectors of the total query (their newest sample shows freshness)."""
        try:
            return CounterQuery(self.total).selectors()
        except QueryError:
            return (self.total,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """One service level objective: what is measured, how good it must be, over which period."""

    name: str
    service: str
    description: str
    sli: RatioSli | LogRatioSli
    objective: float
    period_s: int
    source: Path | None = None
    line: int | None = None
    # The burn-rate alerts of the SLO's rules; None: the SRE workbook's default four
    # (:data:`stormcheck.slo.budget.DEFAULT_BURN_ALERTS`); empty: none. Set from OpenSLO
    # alertPolicies or Sloth's alerting.
    alerts: tuple[BurnRateAlert, ...] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.objective < 1:
            raise ValueError(f"SLO {self.name!r}: objective {self.objective} is not in (0, 1)")
        if self.period_s <= 0:
            raise ValueError(f"SLO {self.name!r}: period {self.period_s} s is not positive")

    @property
    def is_log_based(self) -> bool:
        """Whether the log store answers this SLO (it then has no PromQL and no rules)."""
        return isinstance(self.sli, LogRatioSli)

    @property
    def error_budget(self) -> float:
        """The share of events allowed to be bad: ``1 - objective``."""
        return 1 - self.objective

    @property
    def period(self) -> str:
        """The period as a duration (``30d``)."""
        return format_duration(self.period_s)

    @property
    def located(self) -> str:
        """``file:line`` where the SLO is defined, or its name when it was built in code."""
        if self.source is None:
            return self.name
        return f"{self.source}:{self.line}" if self.line else str(self.source)
