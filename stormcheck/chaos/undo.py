"""How to undo one fault: a small typed record, written to the ledger before the fault is applied.

Each kind names one way back (:mod:`stormcheck.chaos.revert` carries them out), and every one is
idempotent and harmless when the change never happened — so a crash between the ledger entry
and the change, a rollback run twice, or the janitor after a rollback changes nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from stormcheck.errors import ConfigError

__all__ = ["UNDO_KINDS", "Undo", "UndoKind"]

UndoKind = Literal[
    "start",  # start the container again (killed, stopped, OOM-killed) and wait for its role
    "unpause",  # unpause the container
    "toxic",  # remove a toxic from a Toxiproxy proxy
    "proxy",  # enable a Toxiproxy proxy again
    "iptables",  # delete the tagged rules from the container's network namespace
    "limits",  # put the container's CPU and memory limits back (and start it if OOM-killed)
    "fill",  # delete the fill file from the member's capped data volume
    "reconnect",  # connect the container to its network again, with the same address
]
UNDO_KINDS: tuple[str, ...] = get_args(UndoKind)
_BY_NAME: dict[str, UndoKind] = {kind: kind for kind in get_args(UndoKind)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Undo:
    """One way back: ``kind`` of undo, on ``component`` of the run, with its parameters."""

    kind: UndoKind
    component: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "component": self.component, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Undo:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` for a kind this version lacks."""
        kind = _BY_NAME.get(str(data.get("kind")))
        if kind is None:
            raise ConfigError(
                f"ledger: unknown undo kind {data.get('kind')!r}; known: {', '.join(UNDO_KINDS)}"
            )
        return cls(
            kind=kind,
            component=str(data["component"]),
            params=dict(data.get("params", {})),
        )
