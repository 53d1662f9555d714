"""The stormcheck Chaos Toolkit control: every activity on the run's timeline, and a hook that
decides, before any action, whether the target may be touched.

Add it to an experiment::

    controls:
      - name: stormcheck
        provider: {type: python, module: stormcheck.chaos.control}

A control stops chaoslib only by raising :class:`chaoslib.exceptions.InterruptExecution` (any
other exception is logged and ignored). Before the experiment the control resolves its run (the
configuration's ``stormcheck_run``, else ``STORMCHECK_RUN``, else the only run up) and refuses one
that does not exist or is not up; before each action it asks :func:`action_allowed` again. The
safety policy (blast radius, production consent, stop conditions) plugs in there.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    "before_activity_control",
    "before_experiment_control",
]


def action_allowed(folder: RunFolder, activity: Mapping[str, Any]) -> None:
    """Raise :class:`InterruptExecution` when ``activity`` may not touch the run in ``folder``.

    Today: the run must exist and be up. The safety policy extends this hook.
    """
    state = folder.read_manifest().state
    if state != "up":
        raise InterruptExecution(
            f"stormcheck: refusing {activity.get('name')!r}: run {folder.run_id} is {state}, not up"
        )


def _run(configuration: Mapping[str, Any] | None) -> RunFolder:
    try:
        return resolve_run(configuration)
    except StormcheckError as exc:
        raise InterruptExecution(f"stormcheck: no run to act on: {exc}") from None


def before_experiment_control(
    context: Mapping[str, Any], configuration: Mapping[str, Any] | None = None, **_: Any
) -> None:
    """Refuse an experiment whose run does not exist or is not up; note its start."""
    folder = _run(configuration)
    action_allowed(folder, {"name": context.get("title")})
    folder.timeline.record(EventKind.EXPERIMENT_START, str(context.get("title", "")))


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
    if context.get("type") == "action":
        action_allowed(folder, context)
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
        status=run.get("status"),
        output=_short(run.get("output")),
        error=_short(run.get("exception") or run.get("error")),
    )


def _short(value: Any, limit: int = 500) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
