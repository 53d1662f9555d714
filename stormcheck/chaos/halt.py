"""The kill switch: ``stormcheck halt`` blocks new runs and trips the stop conditions of running
experiments.

Scope: one runs folder on this machine (``<runs_dir>/HALT``; by default ``reports/runs`` of this
checkout, i.e. every run started from it). A halt file there blocks ``up``, ``experiment run``,
``load`` and the plan runner (each calls :func:`check_not_halted` before it changes anything), and
every experiment running against a run of that folder sees it at its next stop-condition check
(:mod:`stormcheck.chaos.safeguards`), aborts and rolls back. Runs of other checkouts (another
``runs_dir``) and remote targets are not covered: a remote target gets its own lease with the
remote-target work. ``stormcheck halt --clear`` lifts it.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormcheck.errors import StormcheckError
from stormcheck.local.session import runs_dir
from stormcheck.settings import Settings
from stormcheck.timeline import now_ms

__all__ = [
    "HALT_FILE",
    "Halt",
    "HaltedError",
    "check_not_halted",
    "clear",
    "halt",
    "halt_path",
    "halted",
    "halted_at",
]

HALT_FILE = "HALT"


class HaltedError(StormcheckError):
    """The kill switch is on: nothing new may start."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Halt:
    """Who pulled the kill switch, when, and why."""

    path: Path
    at_ms: int
    by: str
    reason: str

    def explain(self) -> str:
        """One line for the terminal."""
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(self.at_ms / 1000, UTC).isoformat(timespec="seconds")
        return f"halted since {when} by {self.by}: {self.reason} ({self.path})"


def halt_path(settings: Settings) -> Path:
    """Where the kill switch of ``settings``' runs folder lives."""
    return runs_dir(settings) / HALT_FILE


def halted_at(path: Path) -> Halt | None:
    """The halt recorded at ``path``, or ``None`` when the switch is off."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:  # unreadable: count it as on, never as off
        return Halt(path=path, at_ms=0, by="?", reason=f"unreadable halt file: {exc.strerror}")
    try:
        data = json.loads(text)
        return Halt(
            path=path, at_ms=int(data["at_ms"]), by=str(data["by"]), reason=str(data["reason"])
        )
    except (ValueError, KeyError, TypeError):
        return Halt(path=path, at_ms=0, by="?", reason="halt file present (not readable JSON)")


def halted(settings: Settings) -> Halt | None:
    """The halt in force for ``settings``' runs folder, or ``None``."""
    return halted_at(halt_path(settings))


def halt(settings: Settings, reason: str = "stormcheck halt") -> Halt:
    """Pull the kill switch (idempotent: an earlier halt is kept as it was)."""
    path = halt_path(settings)
    found = halted_at(path)
    if found is not None:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "at_ms": now_ms(),
        "by": f"{getpass.getuser()} (pid {os.getpid()})",
        "reason": reason,
    }
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
            out.flush()
            os.fsync(out.fileno())
    except FileExistsError:
        pass  # another halt won the race: that one stands
    return halted_at(path) or Halt(path=path, at_ms=record["at_ms"], by=record["by"], reason=reason)


def clear(settings: Settings) -> Halt | None:
    """Lift the kill switch; the halt that was lifted, or ``None`` when none was on."""
    path = halt_path(settings)
    found = halted_at(path)
    path.unlink(missing_ok=True)
    return found


def check_not_halted(settings: Settings, what: str = "a run") -> None:
    """Raise :class:`HaltedError` when the kill switch of ``settings``' runs folder is on."""
    found = halted(settings)
    if found is not None:
        raise HaltedError(
            f"not starting {what}: {found.explain()}; `stormcheck halt --clear` lifts it"
        )
