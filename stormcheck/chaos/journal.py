"""Reading a Chaos Toolkit journal into a typed outcome, in the only order that is safe.

chaoslib's own summary misleads in two ways (measured with chaostoolkit-lib 1.45): a steady state
not met *before* the method ends ``status: completed, deviated: false`` with no fault injected, and
a failing action also leaves ``status: completed, deviated: false``. So a journal is read as:

1. a run that did not complete (``interrupted``, ``aborted``, ``failed``), a failed action in
   ``run[]`` or a failed rollback is a **harness error** — never a pass;
2. a steady state not met before the method is **inconclusive** ("platform not ready"), and so is a
   hypothesis probe that could not measure (it raised);
3. only then does ``deviated`` decide between **deviated** and **held**.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExperimentOutcome", "JournalReading", "read_journal"]


class ExperimentOutcome(enum.StrEnum):
    """What an experiment's journal says, once read in order."""

    HELD = "held"  # the hypothesis held before and after the fault
    DEVIATED = "deviated"  # the fault was injected and the hypothesis did not hold after it
    INCONCLUSIVE = "inconclusive"  # not measured: platform not ready, or a probe could not measure
    ERROR = (
        "error"  # the harness did not do what the experiment asked (an action or rollback failed)
    )


NOT_READY = "platform not ready: steady state not met before the method"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalReading:
    """The outcome, why, and what the actions recorded (for a replay)."""

    outcome: ExperimentOutcome
    reasons: tuple[str, ...]
    actions: tuple[Mapping[str, Any], ...] = field(default=())  # each run[] action's output

    @property
    def not_ready(self) -> bool:
        """The steady state was not met before the method: nothing was injected."""
        return self.outcome is ExperimentOutcome.INCONCLUSIVE and self.reasons[:1] == (NOT_READY,)

    def explain(self) -> str:
        """One line: the outcome and its reasons."""
        return f"{self.outcome.value}: {'; '.join(self.reasons)}"


def _name(entry: Mapping[str, Any]) -> str:
    return str((entry.get("activity") or {}).get("name", "?"))


def _failure(entry: Mapping[str, Any]) -> str:
    text = entry.get("exception") or entry.get("error") or "failed"
    if isinstance(text, list):  # chaoslib keeps the traceback as a list of lines
        text = (text[-1] if text else "failed").strip()
    return str(text).strip().splitlines()[-1] if str(text).strip() else "failed"


def _probes(state: Any) -> Sequence[Mapping[str, Any]]:
    return list((state or {}).get("probes") or []) if isinstance(state, Mapping) else []


def read_journal(journal: Mapping[str, Any]) -> JournalReading:
    """The outcome of the experiment that wrote ``journal`` (see the module's documentation)."""
    status = journal.get("status")
    run = list(journal.get("run") or [])
    rollbacks = list(journal.get("rollbacks") or [])
    actions = tuple(
        e.get("output") or {}
        for e in run
        if (e.get("activity") or {}).get("type") == "action" and e.get("status") == "succeeded"
    )
    errors = [
        f"action {_name(e)!r} failed: {_failure(e)}"
        for e in run
        if (e.get("activity") or {}).get("type") == "action" and e.get("status") != "succeeded"
    ]
    errors += [
        f"rollback {_name(e)!r} failed: {_failure(e)}"
        for e in rollbacks
        if e.get("status") != "succeeded"
    ]
    if status != "completed":
        interruption = journal.get("interruption") or {}
        why = interruption.get("reason") if isinstance(interruption, Mapping) else None
        errors.insert(0, f"the run ended {status}" + (f" ({why})" if why else ""))
    if errors:
        return JournalReading(
            outcome=ExperimentOutcome.ERROR, reasons=tuple(errors), actions=actions
        )

    states = journal.get("steady_states") or {}
    before = states.get("before")
    if isinstance(before, Mapping) and not before.get("steady_state_met", False):
        missed = [
            f"{_name(p)} gave {p.get('output')!r}"
            if p.get("status") == "succeeded"
            else f"{_name(p)} could not measure: {_failure(p)}"
            for p in _probes(before)
            if not p.get("tolerance_met", False)
        ]
        return JournalReading(
            outcome=ExperimentOutcome.INCONCLUSIVE,
            reasons=(NOT_READY, *missed),
            actions=actions,
        )
    unmeasured = [
        f"{_name(e)} could not measure: {_failure(e)}"
        for e in [*run, *_probes(states.get("after"))]
        if (e.get("activity") or {}).get("type") == "probe" and e.get("status") != "succeeded"
    ]
    if unmeasured:
        return JournalReading(
            outcome=ExperimentOutcome.INCONCLUSIVE, reasons=tuple(unmeasured), actions=actions
        )
    if journal.get("deviated"):
        missed = [
            f"{_name(p)} gave {p.get('output')!r}"
            for p in _probes(states.get("after"))
            if not p.get("tolerance_met", False)
        ]
        return JournalReading(
            outcome=ExperimentOutcome.DEVIATED,
            reasons=("the steady state did not hold after the method", *missed),
            actions=actions,
        )
    return JournalReading(
        outcome=ExperimentOutcome.HELD,
        reasons=("the steady state held before and after the method",),
        actions=actions,
    )
