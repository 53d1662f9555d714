"""The stormcheck Chaos Toolkit control: every activity on the run's timeline, and a hook that
decides, before any action, whether the target may be touched.

Add it to an experiment::

    controls:
      - name: stormcheck
        provider: {type: python, module: stormcheck.chaos.control}

A control stops chaoslib only by raising :class:`chaoslib.exceptions.InterruptExecution` (any
other exception is logged and ignored). Before the experiment the control resolves its run (the
configuration's ``stormcheck_run``, else ``STORMCHECK_RUN``, else the only run up) and refuses one
that does not exist or is not up, or that the blast-radius policy refuses
(:mod:`stormcheck.chaos.policy`: allowed targets, production consent, the share of a role or of
the zones hit); before each action of the method it asks :func:`action_allowed` again (the policy,
and the kill switch, :mod:`stormcheck.chaos.halt`). While the method runs, the kill switch is
watched (:mod:`stormcheck.chaos.safeguards`): pulled, it interrupts the experiment, whose
rollbacks then run. Rollbacks are never refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chaoslib.exceptions import InterruptExecution

from stormcheck.chaos.context import resolve_run
from stormcheck.errors import StormcheckError
from stormcheck.runs import RunFolder
from stormcheck.timeline import EventKind

__all__ = [
    "action_allowed",
    "after_activity_control",
    "after_experiment_control",
    "after_method_control",
    "before_activity_control",
    "before_experiment_control",
    "before_method_control",
    "cleanup_control",
]

_phase = {"method": False}  # actions are checked in the method only: a rollback is never refused


def action_allowed(
    folder: RunFolder,
    activity: Mapping[str, Any],
    configuration: Mapping[str, Any] | None = None,
) -> None:
    """Raise :class:`InterruptExecution` when ``activity`` may not touch the run in ``folder``:
    the run is not up, the kill switch is on, or the blast-radius policy refuses it."""
    from stormcheck.chaos.halt import HALT_FILE, halted_at
    from stormcheck.chaos.policy import PolicyRefusal, check_action, note_refusal

    name = activity.get("name")
    state = folder.read_manifest().state
    if state != "up":
        raise InterruptExecution(
            f"stormcheck: refusing {name!r}: run {folder.run_id} is {state}, not up"
        )
    found = halted_at(folder.root.parent / HALT_FILE)
    if found is not None:
        note_refusal(f"kill switch: {found.explain()}")
        raise InterruptExecution(f"stormcheck: refusing {name!r}: {found.explain()}")
    try:
        check_action(folder, activity, configuration)
    except PolicyRefusal as exc:
        raise InterruptExecution(f"stormcheck: refusing {name!r}: {exc}") from None


def _run(configuration: Mapping[str, Any] | None) -> RunFolder:
    try:
        return resolve_run(configuration)
    except StormcheckError as exc:
        raise InterruptExecution(f"stormcheck: no run to act on: {exc}") from None


def before_experiment_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **_: Any
) -> None:
    """Refuse an experiment whose run does not exist or is not up, or that the policy refuses
    (its whole method at once, before anything changes); note its start."""
    from stormcheck.chaos.policy import PolicyRefusal, check_experiment

    folder = _run(configuration)
    action_allowed(folder, {"name": context.get("title")}, configuration)
    try:
        check_experiment(folder, context, configuration)
    except PolicyRefusal as exc:
        folder.timeline.record(EventKind.NOTE, "experiment refused", reason=str(exc))
        raise InterruptExecution(f"stormcheck: refusing the experiment: {exc}") from None
    folder.timeline.record(EventKind.EXPERIMENT_START, str(context.get("title", "")))


def before_method_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **_: Any
) -> None:
    """The method starts: check its actions, watch the kill switch."""
    from stormcheck.chaos.safeguards import watch

    _phase["method"] = True
    watch(_run(configuration))


def after_method_control(**_: Any) -> None:
    """The method is over: the rollbacks are neither checked nor interrupted."""
    from stormcheck.chaos.safeguards import unwatch

    _phase["method"] = False
    unwatch()


def cleanup_control() -> None:
    """Whatever happened: stop watching."""
    after_method_control()


def after_experiment_control(
    context: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
    **_: Any,
) -> None:
    """Note the experiment's end, its status and whether it deviated."""
    try:
        folder = resolve_run(configuration)
    except StormcheckError:
        return  # refused at the start: nothing of it is on a timeline
    journal = state or {}
    folder.timeline.record(
        EventKind.EXPERIMENT_END,
        str(context.get("title", "")),
        status=journal.get("status"),
        deviated=journal.get("deviated"),
    )


def before_activity_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **_: Any
) -> None:
    """Ask the hook before every action; note every activity's start."""
    folder = _run(configuration)
    if context.get("type") == "action" and _phase["method"]:
        action_allowed(folder, context, configuration)
    folder.timeline.record(
        EventKind.ACTIVITY_START,
        str(context.get("name", "")),
        type=context.get("type"),
        func=(context.get("provider") or {}).get("func"),
    )


def after_activity_control(
    context: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    configuration: Mapping[str, Any] | None = None,
    **_: Any,
) -> None:
    """Note every activity's end: its status and output (or error)."""
    try:
        folder = resolve_run(configuration)
    except StormcheckError:
        return
    run = state or {}
    folder.timeline.record(
        EventKind.ACTIVITY_END,
        str(context.get("name", "")),
        type=context.get("type"),
        # chaoslib calls this after the activity's `pauses.after`; its own end comes before it
        ended_ms=_ended_ms(run.get("end")),
        status=run.get("status"),
        output=_short(run.get("output")),
        error=_short(run.get("exception") or run.get("error")),
    )


def _ended_ms(text: Any) -> int | None:
    """The activity's end as chaoslib noted it (ISO-8601), in epoch ms; None when absent."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if moment.tzinfo is None:  # chaoslib before its UTC-aware times wrote naive UTC
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _short(value: Any, limit: int = 500) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
