"""The SLO as the engine understands it: a ratio SLI and one objective.

This is the subset of OpenSLO v1 the engine evaluates and turns into rules (see
:mod:`stormcheck.slo.loader` for the YAML side): ``kind: SLO`` with an inline
``indicator.spec.ratioMetric`` (``counter: true``; ``good`` and ``total`` Prometheus queries, or
log-store selectors — :mod:`stormcheck.slo.log_sli`), a rolling ``timeWindow`` and one
``objectives[].target``; ``budgetingMethod: Occurrences``.

A query names the counter series to count: an instant-vector selector such as
``haproxy_backend_http_responses_total{proxy="checkout",code!="5xx"}``. The engine wraps it as
``sum(increase(<query>[<window>]))``, so one SLO can be asked about any window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from stormcheck.slo.log_sli import LogRatioSli

__all__ = [
    "DURATION_UNITS",
    "RatioSli",
    "Slo",
    "format_duration",
    "parse_duration",
]

# Units of OpenSLO's duration shorthand the engine accepts; M, Q and Y are calendar-dependent
# lengths, which a rolling window over counters cannot use.
DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")


def parse_duration(text: str) -> int:
    """Seconds in an OpenSLO duration such as ``30d``, ``1h``, ``5m``; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: expected a positive whole number and one unit of "
            + ", ".join(DURATION_UNITS)
            + " (e.g. 30d, 1h)"
        )
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


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
    """good/total over counters: the share of events that were good."""

    good: str
    total: str

    def good_increase(self, window: str) -> str:
        """PromQL for the number of good events in the ``window`` before the evaluation time."""
        return f"sum(increase({self.good}[{window}]))"

    def total_increase(self, window: str) -> str:
        """PromQL for the number of events in the ``window`` before the evaluation time."""
        return f"sum(increase({self.total}[{window}]))"

    def error_ratio(self, window: str) -> str:
        """PromQL for the share of bad events over ``window`` (rates, so empty windows are NaN)."""
        # `or vector(0)`: when every event is bad, the good series may not exist at all.
        return (
            f"1 - ((sum(rate({self.good}[{window}])) or vector(0))"
            f" / sum(rate({self.total}[{window}])))"
        )


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
