"""Helpers of the safety tests that need the session's full stack."""

from __future__ import annotations

import time
from collections.abc import Callable

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.snapshot import Snapshot, settled, take
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.timeline import Event, EventKind

__all__ = ["before", "settled_diff", "wait_for_event"]


def before(folder: RunFolder, settings: Settings) -> Snapshot:
    """A snapshot of the run now."""
    handle = RunHandle(folder, settings)
    try:
        return take(handle)
    finally:
        handle.close()


def settled_diff(
    folder: RunFolder, settings: Settings, earlier: Snapshot, settle_s: float = 60.0
) -> list[str]:
    """The snapshot diff once the platform settled (members rejoining), at most ``settle_s``."""
    handle = RunHandle(folder, settings)
    try:
        return settled(handle, earlier, settle_s)
    finally:
        handle.close()


def wait_for_event(
    folder: RunFolder,
    kind: EventKind,
    since_ms: int,
    *,
    timeout_s: float = 180.0,
    name: str | None = None,
    alive: Callable[[], bool] = lambda: True,
) -> Event:
    """The first event of ``kind`` (named ``name``) on the run's timeline at or after
    ``since_ms``; :class:`AssertionError` after ``timeout_s`` or once ``alive()`` is false."""
    deadline = time.monotonic() + timeout_s
    while True:
        for event in folder.timeline.events(kind):
            if event.at_ms >= since_ms and (name is None or event.name == name):
                return event
        if not alive() or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {kind.value} {name or ''} event after {since_ms} on {folder.run_id}")
