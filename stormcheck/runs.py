"""Run identity and the run folder layout.

Every run has an id and a folder ``<runs_dir>/<id>/`` (``reports/runs/<id>/`` by default)::

    manifest.json     who, what and where: id, profile, stack, owner lease, components, endpoints
    timeline.jsonl    the event timeline (stormcheck.timeline), UTC epoch milliseconds
    requests.jsonl    the load generator's request log
    journals/         Chaos Toolkit journals, one per experiment
    verdicts.json     every verdict of the run, with its evidence
    logs/             component logs collected at the end

The owner of a run is recorded as a lease: the owning process (pid and start time), the boot id
and a heartbeat. A run started from a terminal with ``stormcheck up`` is owned by the user and
lives until ``stormcheck down``; a run started by a test session belongs to that process, and
whoever finds its owner dead may reap it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.timeline import Timeline, now_ms
from stormcheck.verdict import Verdict

__all__ = [
    "Lease",
    "Manifest",
    "RunFolder",
    "boot_id",
    "create_run",
    "find_run",
    "list_runs",
    "new_run_id",
]

OwnerKind = Literal["process", "user"]


def new_run_id(at_ms: int | None = None) -> str:
    """A sortable, collision-free run id: ``20261126T124935Z-3fa2c1``."""
    moment = datetime.fromtimestamp((now_ms() if at_ms is None else at_ms) / 1000, tz=UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def boot_id() -> str:
    """This machine's boot id (changes at every reboot; a pid is only unique within a boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


def _process_start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Field 22 (starttime) follows the command name, which may itself contain spaces.
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """Who owns a run: a process (pid + start time + boot id) or the user at a terminal."""

    kind: OwnerKind
    pid: int
    pid_start: int | None
    boot_id: str
    host: str
    heartbeat_ms: int

    @classmethod
    def for_current_process(cls, kind: OwnerKind = "process") -> Lease:
        """A lease held by this process (``kind="user"``: the run outlives it until `down`)."""
        pid = os.getpid()
        return cls(
            kind=kind,
            pid=pid,
            pid_start=_process_start_ticks(pid),
            boot_id=boot_id(),
            host=socket.gethostname(),
            heartbeat_ms=now_ms(),
        )

    def owner_alive(self) -> bool:
        """Whether the owning process still runs (same boot, same pid, same start time)."""
        if self.boot_id != boot_id() or self.host != socket.gethostname():
            return False
        start = _process_start_ticks(self.pid)
        return start is not None and (self.pid_start is None or start == self.pid_start)

    def to_labels(self) -> dict[str, str]:
        """Docker labels that carry the lease on every resource of the run."""
        return {
            "stormcheck.owner": self.kind,
            "stormcheck.owner.pid": str(self.pid),
            "stormcheck.owner.pid-start": "" if self.pid_start is None else str(self.pid_start),
            "stormcheck.owner.boot-id": self.boot_id,
            "stormcheck.owner.host": self.host,
        }

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Lease:
        """Inverse of :meth:`to_labels` (heartbeat unknown: 0)."""
        start = labels.get("stormcheck.owner.pid-start", "")
        kind = labels.get("stormcheck.owner", "process")
        return cls(
            kind="user" if kind == "user" else "process",
            pid=int(labels.get("stormcheck.owner.pid", "0") or 0),
            pid_start=int(start) if start else None,
            boot_id=labels.get("stormcheck.owner.boot-id", ""),
            host=labels.get("stormcheck.owner.host", ""),
            heartbeat_ms=0,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the manifest."""
        return {
            "kind": self.kind,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "boot_id": self.boot_id,
            "host": self.host,
            "heartbeat_ms": self.heartbeat_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lease:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind="user" if data.get("kind") == "user" else "process",
            pid=int(data["pid"]),
            pid_start=data.get("pid_start"),
            boot_id=str(data["boot_id"]),
            host=str(data["host"]),
            heartbeat_ms=int(data.get("heartbeat_ms", 0)),
        )


@dataclass(slots=True, kw_only=True)
class Manifest:
    """The run file: what a run is, who owns it and how to reach its components."""

    run_id: str
    profile: str
    stack: str
    created_ms: int
    lease: Lease
    state: str = "starting"
    network: str | None = None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "profile": self.profile,
            "stack": self.stack,
            "created_ms": self.created_ms,
            "state": self.state,
            "lease": self.lease.to_dict(),
            "network": self.network,
            "components": self.components,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: Path) -> Manifest:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` names the file and the missing field."""
        try:
            return cls(
                run_id=str(data["run_id"]),
                profile=str(data["profile"]),
                stack=str(data["stack"]),
                created_ms=int(data["created_ms"]),
                state=str(data.get("state", "unknown")),
                lease=Lease.from_dict(data["lease"]),
                network=data.get("network"),
                components=dict(data.get("components", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"run file {source}: missing or malformed field {exc}") from None


@dataclass(frozen=True, slots=True)
class RunFolder:
    """The paths of one run's folder; creating it is explicit (:meth:`create`)."""

    root: Path

    @property
    def run_id(self) -> str:
        """The run id (the folder's name)."""
        return self.root.name

    @property
    def manifest_path(self) -> Path:
        """``manifest.json``: the run file."""
        return self.root / "manifest.json"

    @property
    def timeline_path(self) -> Path:
        """``timeline.jsonl``."""
        return self.root / "timeline.jsonl"

    @property
    def requests_path(self) -> Path:
        """``requests.jsonl``: the load generator's request log."""
        return self.root / "requests.jsonl"

    @property
    def journals_dir(self) -> Path:
        """``journals/``: Chaos Toolkit journals."""
        return self.root / "journals"

    @property
    def verdicts_path(self) -> Path:
        """``verdicts.json``."""
        return self.root / "verdicts.json"

    @property
    def logs_dir(self) -> Path:
        """``logs/``: component logs."""
        return self.root / "logs"

    @property
    def timeline(self) -> Timeline:
        """The run's timeline."""
        return Timeline(self.timeline_path)

    def create(self) -> RunFolder:
        """Make the folder and its sub-folders; return self."""
        for directory in (self.root, self.journals_dir, self.logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        return self

    def write_manifest(self, manifest: Manifest) -> None:
        """Write the run file atomically (readers never see half a file)."""
        _write_json_atomically(self.manifest_path, manifest.to_dict())

    def read_manifest(self) -> Manifest:
        """Read the run file; :class:`RunNotFoundError` if it is missing."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunNotFoundError(
                f"run {self.run_id}: no run file at {self.manifest_path}"
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"run file {self.manifest_path}: not valid JSON ({exc})") from None
        return Manifest.from_dict(data, source=self.manifest_path)

    def write_verdicts(self, verdicts: Iterable[Verdict]) -> None:
        """Write ``verdicts.json``."""
        _write_json_atomically(self.verdicts_path, [v.to_dict() for v in verdicts])

    def read_verdicts(self) -> list[Verdict]:
        """Read ``verdicts.json`` (empty when the run has none yet)."""
        if not self.verdicts_path.exists():
            return []
        data = json.loads(self.verdicts_path.read_text(encoding="utf-8"))
        return [Verdict.from_dict(item) for item in data]


def _write_json_atomically(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def list_runs(runs_dir: Path) -> list[RunFolder]:
    """Every run folder with a run file, oldest first."""
    if not runs_dir.is_dir():
        return []
    return sorted(
        (RunFolder(p) for p in runs_dir.iterdir() if (p / "manifest.json").is_file()),
        key=lambda r: r.run_id,
    )


def find_run(runs_dir: Path, run_id: str | None) -> RunFolder:
    """The run with ``run_id``, a unique prefix of it, or (None) the newest run that is up."""
    runs = list_runs(runs_dir)
    if run_id is None:
        live = [r for r in runs if r.read_manifest().state == "up"]
        if not live:
            raise RunNotFoundError(f"no run is up under {runs_dir}; start one with `stormcheck up`")
        return live[-1]
    matches = [r for r in runs if r.run_id.startswith(run_id)]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise RunNotFoundError(f"{found} under {runs_dir} match {run_id!r}")
    return matches[0]


def create_run(
    parent: Path,
    *,
    profile: str,
    stack: str,
    lease: Lease,
    run_id: str | None = None,
) -> tuple[RunFolder, Manifest]:
    """A new run folder under ``parent`` with its first run file written; returns both."""
    run_id = run_id or new_run_id()
    folder = RunFolder(parent / run_id).create()
    manifest = Manifest(
        run_id=run_id, profile=profile, stack=stack, created_ms=now_ms(), lease=lease
    )
    folder.write_manifest(manifest)
    return folder, manifest
