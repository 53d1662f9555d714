"""The fault ledger of a run: what each fault changed, how to undo it, and who holds it.

``<run folder>/faults.jsonl``, append-only, one JSON object a line:

- ``{"op": "apply", ...}`` is written (and fsynced) *before* a fault changes anything: the fault's
  id, the activity, a one-line description, its :class:`~stormcheck.chaos.undo.Undo`, and the
  holder's lease — the process that holds the fault (``chaos run``, a test), which is usually not
  the one that started the run;
- ``{"op": "settle", "fault_id": ...}`` when the fault was undone.

A fault is live while it has an ``apply`` and no ``settle``. A crash between the entry and the
change leaves a live entry whose undo is harmless (every undo is idempotent). Writers take an
exclusive ``flock`` on ``faults.lock``, so two processes never interleave, and faults on one run
are serialised: while another live holder has a live fault, a new one is refused, unless both
say they compose.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from stormcheck.chaos.undo import Undo
from stormcheck.errors import StormcheckError
from stormcheck.runs import Lease, RunFolder
from stormcheck.timeline import now_ms

__all__ = ["FaultConflictError", "Ledger", "LedgerEntry", "new_fault_id", "same_holder"]


class FaultConflictError(StormcheckError):
    """Another holder has a live fault on the run, and the two do not compose."""


def new_fault_id() -> str:
    """A short unique id for one fault (also the tag of its iptables rules and toxics)."""
    return secrets.token_hex(4)


def same_holder(a: Lease, b: Lease) -> bool:
    """Whether two leases name the same process (same host, boot, pid and start time)."""
    return (a.host, a.boot_id, a.pid, a.pid_start) == (b.host, b.boot_id, b.pid, b.pid_start)


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerEntry:
    """One fault, as recorded before it was applied."""

    fault_id: str
    action: str  # the activity that applied it, e.g. "kill_members"
    description: str  # one line: what changes, on what
    undo: Undo
    holder: Lease
    composes: bool = False
    at_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``apply`` line)."""
        return {
            "op": "apply",
            "fault_id": self.fault_id,
            "action": self.action,
            "description": self.description,
            "undo": self.undo.to_dict(),
            "holder": self.holder.to_dict(),
            "composes": self.composes,
            "at_ms": self.at_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            fault_id=str(data["fault_id"]),
            action=str(data["action"]),
            description=str(data["description"]),
            undo=Undo.from_dict(data["undo"]),
            holder=Lease.from_dict(data["holder"]),
            composes=bool(data.get("composes", False)),
            at_ms=int(data.get("at_ms", 0)),
        )


class Ledger:
    """The fault ledger of one run folder."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self.path = folder.root / "faults.jsonl"
        self._lock_path = folder.root / "faults.lock"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.root.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append(self, line: Mapping[str, Any]) -> None:
        data = (json.dumps(line, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a line torn by a crash: start a new one after it
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _lines(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        lines = []
        for raw in text.splitlines():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: its fault was never applied
        return lines

    def live(self) -> list[LedgerEntry]:
        """Every fault applied and not settled, oldest first."""
        applied: dict[str, LedgerEntry] = {}
        for line in self._lines():
            if line.get("op") == "apply":
                entry = LedgerEntry.from_dict(line)
                applied[entry.fault_id] = entry
            elif line.get("op") == "settle":
                applied.pop(str(line.get("fault_id")), None)
        return list(applied.values())

    def record(self, entry: LedgerEntry) -> None:
        """Append ``entry`` (fsynced) before its fault is applied.

        Raises :class:`FaultConflictError` when another holder has a live fault on the run and
        the two do not both compose; a live fault of a dead holder also blocks (the janitor
        reverts it first).
        """
        with self._locked():
            for live in self.live():
                if same_holder(live.holder, entry.holder):
                    continue
                if live.composes and entry.composes and live.holder.owner_alive():
                    continue
                state = "alive" if live.holder.owner_alive() else "gone: run `stormcheck janitor`"
                raise FaultConflictError(
                    f"run {self.folder.run_id}: fault {live.fault_id} ({live.description}) is"
                    f" held by pid {live.holder.pid} ({state}); faults on one run are"
                    " serialised unless both compose"
                )
            self._append(entry.to_dict())

    def settle(self, fault_id: str, *, by: str) -> None:
        """Mark ``fault_id`` undone (``by``: who undid it, e.g. ``rollback`` or ``janitor``)."""
        with self._locked():
            self._append({"op": "settle", "fault_id": fault_id, "by": by, "at_ms": now_ms()})
