"""The run's event timeline: UTC epoch milliseconds, one JSON object per line.

Fault starts and ends, alerts, requests and notes all go on one timeline, so that time to detect
and time to recover are differences of two timestamps on the same clock.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.redaction import redact

__all__ = ["Event", "EventKind", "Timeline", "iso_ms", "now_ms"]


def now_ms() -> int:
    """The current time as UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000


def iso_ms(at_ms: int) -> str:
    """``2026-11-26T12:00:00.123Z`` for an epoch-millisecond timestamp."""
    moment = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at_ms % 1000:03d}Z"


class EventKind(enum.StrEnum):
    """What happened."""

    RUN_START = "run_start"
    RUN_END = "run_end"
    COMPONENT_READY = "component_ready"
    FAULT_START = "fault_start"
    FAULT_END = "fault_end"
    ACTIVITY_START = "activity_start"
    ACTIVITY_END = "activity_end"
    EXPERIMENT_START = "experiment_start"
    EXPERIMENT_END = "experiment_end"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    REQUEST = "request"
    LOAD_START = "load_start"
    LOAD_END = "load_end"
    VERDICT = "verdict"
    NOTE = "note"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened at ``at_ms`` (UTC epoch milliseconds)."""

    at_ms: int
    kind: EventKind
    name: str
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One JSON line, with the ISO time beside the epoch for humans."""
        return json.dumps(
            {
                "at_ms": self.at_ms,
                "at": iso_ms(self.at_ms),
                "kind": self.kind.value,
                "name": self.name,
                "attrs": dict(self.attrs),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Inverse of :meth:`to_json`."""
        data = json.loads(line)
        return cls(
            at_ms=int(data["at_ms"]),
            kind=EventKind(data["kind"]),
            name=str(data["name"]),
            attrs=dict(data.get("attrs", {})),
        )


class Timeline:
    """An append-only JSON-lines file of events, safe to write from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(
        self, kind: EventKind, name: str, *, at_ms: int | None = None, **attrs: Any
    ) -> Event:
        """Append an event (now, unless ``at_ms`` is given) and return it."""
        event = Event(at_ms=now_ms() if at_ms is None else at_ms, kind=kind, name=name, attrs=attrs)
        line = redact(event.to_json()) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return event

    def events(self, kind: EventKind | None = None) -> list[Event]:
        """Every event (of ``kind``), sorted by time; raises :class:`ConfigError` on a bad line."""
        return sorted(self._read(kind), key=lambda e: e.at_ms)

    def _read(self, kind: EventKind | None) -> Iterator[Event]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    event = Event.from_json(line)
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(
                        f"{self.path}:{number}: not a timeline event ({exc})"
                    ) from None
                if kind is None or event.kind is kind:
                    yield event
