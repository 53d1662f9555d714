"""From counted events to a verdict: the part of an evaluation every SLI source shares.

Whether good and total came from Prometheus counters or from log lines, the rest is the same:
no events is ``inconclusive`` (no traffic, so no SLI); a good count outside ``[0, total]`` means
the two queries do not count the same events (``inconclusive``); otherwise the SLI is
good/total, the verdict ``pass`` when it meets the objective and ``fail`` when not, and the
evidence gains the SLI, the budget spent and the burn rate (in its typed
:class:`~stormcheck.verdict.SliEvidence`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from stormcheck.slo.budget import budget_spent, burn_rate
from stormcheck.slo.model import Slo, format_duration
from stormcheck.verdict import Evidence, SliEvidence, Verdict, Window

__all__ = ["judge_error_ratio", "judge_ratio", "verdict_name", "with_details", "with_sli"]

# good and total are answered separately; their ratio may exceed 1 by rounding only.
_RATIO_SLACK = 1e-9


def verdict_name(slo: Slo) -> str:
    """The name of an SLO's verdict: ``slo/<name>``."""
    return f"slo/{slo.name}"


def with_details(evidence: Evidence, **details: object) -> Evidence:
    """``evidence`` with ``details`` added."""
    return replace(evidence, details={**evidence.details, **details})


def with_sli(evidence: Evidence, **fields: object) -> Evidence:
    """``evidence`` with these :class:`SliEvidence` fields set (``good=``, ``total=``, ...)."""
    current = evidence.sli if evidence.sli is not None else SliEvidence()
    return replace(evidence, sli=replace(current, **fields))  # type: ignore[arg-type]


def judge_ratio(slo: Slo, window: Window, good: float, total: float, evidence: Evidence) -> Verdict:
    """The verdict of ``slo`` over ``window`` from its counts; ``evidence`` says how they were got."""
    name = verdict_name(slo)
    if total == 0:
        return Verdict.inconclusive(
            name,
            "no traffic: 0 events in the window, so there is no SLI",
            with_sli(evidence, good=good, total=0.0),
        )
    if good > total * (1 + _RATIO_SLACK) or good < 0:
        return Verdict.inconclusive(
            name,
            f"good ({good:g}) is not between 0 and total ({total:g}): the queries do not count"
            " the same events",
            with_sli(evidence, good=good, total=total),
        )
    return _judge_sli(
        slo,
        window,
        min(good / total, 1.0),
        with_sli(evidence, good=good, total=total),
        f"; {good:.6g} good of {total:.6g}",
    )


def judge_error_ratio(slo: Slo, window: Window, error_ratio: float, evidence: Evidence) -> Verdict:
    """The verdict of ``slo`` from a recorded share of bad events (NaN: 0/0, no traffic)."""
    name = verdict_name(slo)
    if math.isnan(error_ratio):
        return Verdict.inconclusive(
            name,
            "no traffic: the recorded error ratio is NaN (0 events in the window), so there is"
            " no SLI",
            with_sli(evidence, error_ratio=error_ratio),
        )
    if not -_RATIO_SLACK <= error_ratio <= 1 + _RATIO_SLACK:
        return Verdict.inconclusive(
            name,
            f"the recorded error ratio {error_ratio:g} is not between 0 and 1: its good and total"
            " queries do not count the same events",
            with_sli(evidence, error_ratio=error_ratio),
        )
    sli = min(max(1 - error_ratio, 0.0), 1.0)
    return _judge_sli(slo, window, sli, with_sli(evidence, error_ratio=error_ratio), "")


def _judge_sli(slo: Slo, window: Window, sli: float, evidence: Evidence, counts: str) -> Verdict:
    name = verdict_name(slo)
    spent = budget_spent(sli, window.seconds, slo.objective, slo.period_s)
    burn = burn_rate(sli, slo.objective)
    measured = replace(
        with_sli(evidence, burn_rate=burn, error_ratio=1 - sli),
        observed=sli,
        objective=slo.objective,
        budget_spent=spent,
    )
    summary = (
        f"over {format_duration(window.seconds)}, {spent:.2%} of the {slo.period} error budget"
        f" spent (burn rate {burn:.2f}x{counts})"
    )
    if sli >= slo.objective:
        return Verdict.passed(
            name, f"SLI {sli:.6f} meets objective {slo.objective:g} {summary}", measured
        )
    return Verdict.failed(
        name, f"SLI {sli:.6f} is below objective {slo.objective:g} {summary}", measured
    )
