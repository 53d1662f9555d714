"""Error-budget arithmetic: budget spent in a window, burn rates, and burn-rate alert thresholds.

Over an SLO period ``P`` with objective ``o``, the error budget is the share ``1 - o`` of the
period's events. A window ``w`` whose SLI is ``s`` spends ``(1 - s) · |w| / ((1 - o) · P)`` of it
(the events are assumed to arrive at a steady rate, the SRE workbook's convention), and burns it
``(1 - s) / (1 - o)`` times as fast as an even spend over the period would.

An alert that should fire once a share ``b`` of the budget is spent within ``w`` fires at burn
rate ``b · P / |w|``: for 99.9 % over 30 days, 2 % in 1 h gives 14.4, 5 % in 6 h gives 6,
10 % in 1 d gives 3 and 10 % in 3 d gives 1 — the workbook's table (chapter 5, table 5-8).
"""

from __future__ import annotations

from dataclasses import dataclass

from stormcheck.slo.model import format_duration

__all__ = [
    "DEFAULT_BURN_ALERTS",
    "BurnRateAlert",
    "budget_spent",
    "burn_rate",
    "burn_rate_threshold",
]


def budget_spent(sli: float, window_s: float, objective: float, period_s: float) -> float:
    """Share of the period's error budget spent in a window: ``(1-sli)·|w| / ((1-objective)·P)``.

    ``sli`` and ``objective`` are shares in [0, 1] and (0, 1); ``window_s`` and ``period_s`` are
    seconds. 1.0 means the whole budget of the period. Raises ``ValueError`` on values outside
    those ranges.
    """
    if not 0 <= sli <= 1:
        raise ValueError(f"sli {sli!r} is not a share in [0, 1]")
    if not 0 < objective < 1:
        raise ValueError(f"objective {objective!r} is not in (0, 1)")
    if not window_s > 0 or not period_s > 0:
        raise ValueError(f"window {window_s!r} s and period {period_s!r} s must be positive")
    return (1 - sli) * window_s / ((1 - objective) * period_s)


def burn_rate(sli: float, objective: float) -> float:
    """How many times faster than an even spend the budget burns: ``(1 - sli) / (1 - objective)``."""
    if not 0 < objective < 1:
        raise ValueError(f"objective {objective!r} is not in (0, 1)")
    return (1 - sli) / (1 - objective)


def burn_rate_threshold(budget_share: float, long_window_s: float, period_s: float) -> float:
    """The burn rate at which ``budget_share`` of the period's budget is gone in the long window."""
    if not 0 < budget_share <= 1:
        raise ValueError(f"budget share {budget_share!r} is not in (0, 1]")
    return budget_share * period_s / long_window_s


@dataclass(frozen=True, slots=True, kw_only=True)
class BurnRateAlert:
    """A multi-window burn-rate condition: fire when both windows burn faster than the threshold.

    The long window says the budget is really being spent; the short one (1/12 of it in the
    workbook) makes the alert stop soon after the burn stops.
    """

    severity: str
    budget_share: float
    long_window_s: int
    short_window_s: int
    # How long the condition must hold before the alert fires (OpenSLO's alertAfter).
    for_s: int = 0
    # Extra labels and annotations of the alert rule (Sloth's alerting, OpenSLO's policy name).
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    def threshold(self, period_s: float) -> float:
        """The burn rate both windows must exceed, for an SLO of this period."""
        return burn_rate_threshold(self.budget_share, self.long_window_s, period_s)

    @property
    def long_window(self) -> str:
        """The long window as a PromQL duration."""
        return format_duration(self.long_window_s)

    @property
    def short_window(self) -> str:
        """The short window as a PromQL duration."""
        return format_duration(self.short_window_s)


# The SRE workbook's recommendation: page on 2 % in 1 h or 5 % in 6 h; ticket on 10 % in 1 d or
# 10 % in 3 d.
DEFAULT_BURN_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert(severity="page", budget_share=0.02, long_window_s=3600, short_window_s=300),
    BurnRateAlert(severity="page", budget_share=0.05, long_window_s=21600, short_window_s=1800),
    BurnRateAlert(severity="ticket", budget_share=0.10, long_window_s=86400, short_window_s=7200),
    BurnRateAlert(severity="ticket", budget_share=0.10, long_window_s=259200, short_window_s=21600),
)
