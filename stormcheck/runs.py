"""Run identity and the run folder layout.

Every run has an id and a folder ``<runs_dir>/<id>/`` (``reports/runs/<id>/`` by default)::

    manifest.json     who, what and where: id, profile, stack, owner lease, components, endpoints
    timeline.jsonl    the event timeline (stormcheck.timeline), UTC epoch milliseconds
    requests.jsonl    the load generator's request log
    journals/         Chaos Toolkit journals, one per experiment
    resilience/       the judge's results, one per judged experiment
    verdicts.json     every verdict of the run, with its evidence
    logs/             component logs collected at the end

The owner of a run is recorded as a lease: the owning process (pid and start time), the boot id
and a heartbeat. A run started from a terminal with ``stormcheck up`` is owned by the user and
lives until ``stormcheck down``; a run started by a test session belongs to that process, and
whoever finds its owner dead may reap it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.redaction import redact, register, split_password, with_password
from stormcheck.timeline import Timeline, now_ms
from stormcheck.verdict import Verdict

__all__ = [
    "MANIFEST_FORMAT",
    "CalibrationRecord",
    "ComponentRecord",
    "Lease",
    "Manifest",
    "Provenance",
    "RunFolder",
    "boot_id",
    "create_run",
    "find_run",
    "list_runs",
    "new_run_id",
    "process_start_ticks",
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


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot); ``None`` when it does not run."""
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
            pid_start=process_start_ticks(pid),
            boot_id=boot_id(),
            host=socket.gethostname(),
            heartbeat_ms=now_ms(),
        )

    def owner_alive(self) -> bool:
        """Whether the owning process still runs (same boot, same pid, same start time)."""
        if self.boot_id != boot_id() or self.host != socket.gethostname():
            return False
        start = process_start_ticks(self.pid)
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


MANIFEST_FORMAT = 2
"""The run file's format: 1 (no ``format`` field, components as plain objects, DSNs with their
passwords) is still read; 2 adds typed component records, ``provenance`` and keeps credentials out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibrationRecord:
    """The calibrated capacity of a component, as ``stormcheck calibrate`` stored it."""

    rate_rps: float
    at_ms: int
    step_s: float
    bounded_by_generator: bool
    generator_budget_cores: float
    thresholds: Mapping[str, float]
    steps: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rate_rps": self.rate_rps,
            "at_ms": self.at_ms,
            "step_s": self.step_s,
            "bounded_by_generator": self.bounded_by_generator,
            "generator_budget_cores": self.generator_budget_cores,
            "thresholds": dict(self.thresholds),
            "steps": [dict(s) for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            rate_rps=float(data["rate_rps"]),
            at_ms=int(data.get("at_ms", 0)),
            step_s=float(data.get("step_s", 0.0)),
            bounded_by_generator=bool(data.get("bounded_by_generator", False)),
            generator_budget_cores=float(data.get("generator_budget_cores", 0.0)),
            # a threshold left unset (``calibrate`` without --p99-ms) is stored as null
            thresholds={
                str(k): float(v)
                for k, v in dict(data.get("thresholds", {})).items()
                if v is not None
            },
            steps=tuple(dict(s) for s in data.get("steps", [])),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentRecord:
    """One started component of a run: where it runs and how to reach it.

    ``endpoints`` never hold a password: the run's credentials are kept apart
    (:attr:`Manifest.credentials`) and put back by :meth:`Manifest.endpoint` on use.
    """

    name: str
    role: str
    zone: str
    image: str
    container: str
    endpoints: Mapping[str, str]
    ready_s: float
    address: str | None = None  # the container's IP on the run's network
    webhook: str | None = None  # alertmanager: where it delivers its notifications
    calibration: CalibrationRecord | None = None  # the capacity measured through it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (optional sections only when set)."""
        data: dict[str, Any] = {
            "role": self.role,
            "zone": self.zone,
            "image": self.image,
            "container": self.container,
            "address": self.address,
            "endpoints": dict(self.endpoints),
            "ready_s": self.ready_s,
        }
        if self.webhook is not None:
            data["webhook"] = self.webhook
        if self.calibration is not None:
            data["calibration"] = self.calibration.to_dict()
        return data

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> ComponentRecord:
        """Inverse of :meth:`to_dict` (also reads format 1's plain objects)."""
        calibration = data.get("calibration")
        return cls(
            name=name,
            role=str(data["role"]),
            zone=str(data.get("zone", "")),
            image=str(data.get("image", "")),
            container=str(data["container"]),
            endpoints={str(k): str(v) for k, v in dict(data.get("endpoints", {})).items()},
            ready_s=float(data.get("ready_s", 0.0)),
            address=data.get("address"),
            webhook=data.get("webhook"),
            calibration=None if calibration is None else CalibrationRecord.from_dict(calibration),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What a run was made of, enough to replay it (filled when the run is brought up).

    ``git_commit``/``git_dirty``: the project's commit and whether the work tree differed from
    it; ``image_ids``: role -> the image id each component ran; ``component_versions``: role ->
    the version its software reports; ``versions``: the harness's own parts (Python, stormcheck,
    chaostoolkit-lib, locust, ...); ``settings``: with secrets redacted; ``host``: CPU model,
    cores, load; ``load_generator``: the generator's CPU budget and the core it is pinned to.
    """

    git_commit: str | None = None
    git_dirty: bool | None = None
    image_ids: Mapping[str, str] = field(default_factory=dict)  # role -> image id
    seeds: Mapping[str, int] = field(default_factory=dict)  # what drew at random -> its seed
    component_versions: Mapping[str, str] = field(default_factory=dict)  # role -> version
    versions: Mapping[str, str] = field(default_factory=dict)  # harness part -> version
    settings: Mapping[str, Any] = field(default_factory=dict)  # with secrets redacted
    host: Mapping[str, Any] = field(default_factory=dict)
    load_generator: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "image_ids": dict(self.image_ids),
            "seeds": dict(self.seeds),
            "component_versions": dict(self.component_versions),
            "versions": dict(self.versions),
            "settings": dict(self.settings),
            "host": dict(self.host),
            "load_generator": dict(self.load_generator),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Inverse of :meth:`to_dict` (a run file written before a field existed lacks it)."""
        dirty = data.get("git_dirty")
        return cls(
            git_commit=data.get("git_commit"),
            git_dirty=None if dirty is None else bool(dirty),
            image_ids=dict(data.get("image_ids", {})),
            seeds={str(k): int(v) for k, v in dict(data.get("seeds", {})).items()},
            component_versions=dict(data.get("component_versions", {})),
            versions=dict(data.get("versions", {})),
            settings=dict(data.get("settings", {})),
            host=dict(data.get("host", {})),
            load_generator=dict(data.get("load_generator", {})),
        )


def _credential_key(component: str, endpoint: str) -> str:
    return f"{component}/{endpoint}"


@dataclass(slots=True, kw_only=True)
class Manifest:
    """The run file: what a run is, who owns it and how to reach its components.

    ``credentials`` (endpoint → password) are never written into the run file: the run folder
    keeps them in a file of their own, readable by its owner only
    (:attr:`RunFolder.credentials_path`).
    """

    run_id: str
    profile: str
    stack: str
    created_ms: int
    lease: Lease
    state: str = "starting"
    network: str | None = None
    components: dict[str, ComponentRecord] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)

    def component(self, name: str) -> ComponentRecord:
        """The record of component ``name``; :class:`RunNotFoundError` names what the run has."""
        try:
            return self.components[name]
        except KeyError:
            have = ", ".join(sorted(self.components)) or "none"
            raise RunNotFoundError(
                f"run {self.run_id} has no component {name!r} (it has: {have})"
            ) from None

    def endpoint(self, component: str, name: str | None = None) -> str:
        """The URL of ``component``'s endpoint ``name`` (default: the one named like it).

        The URL is the one a client uses: a password the run keeps apart is put back in.
        """
        record = self.component(component)
        key = name or component
        try:
            url = record.endpoints[key]
        except KeyError:
            have = ", ".join(sorted(record.endpoints)) or "none"
            raise RunNotFoundError(
                f"run {self.run_id}: component {component!r} has no endpoint {key!r} (it has: {have})"
            ) from None
        return with_password(url, self.credentials.get(_credential_key(component, key)))

    def endpoints(self, component: str) -> dict[str, str]:
        """Every endpoint of ``component`` as a client uses it (passwords put back in)."""
        return {key: self.endpoint(component, key) for key in self.component(component).endpoints}

    def container(self, component: str) -> str:
        """The Docker container name of ``component``."""
        return self.component(component).container

    def add(self, record: ComponentRecord) -> None:
        """Record a started component; passwords in its endpoints go to :attr:`credentials`."""
        public = {}
        for key, url in record.endpoints.items():
            public[key], password = split_password(url)
            if password is not None:
                self.credentials[_credential_key(record.name, key)] = password
                _register(password)
        self.components[record.name] = replace(record, endpoints=public)

    def update(self, component: str, **changes: Any) -> ComponentRecord:
        """Replace fields of ``component``'s record (e.g. ``endpoints=``, ``webhook=``)."""
        record = replace(self.component(component), **changes)
        self.add(record)
        return self.components[component]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the run file): no credentials."""
        return {
            "format": MANIFEST_FORMAT,
            "run_id": self.run_id,
            "profile": self.profile,
            "stack": self.stack,
            "created_ms": self.created_ms,
            "state": self.state,
            "lease": self.lease.to_dict(),
            "network": self.network,
            "components": {name: c.to_dict() for name, c in self.components.items()},
            "provenance": self.provenance.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: Path) -> Manifest:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` names the file and the missing field.

        Format 1 files (written before the format was versioned) are read too: their DSNs carry
        passwords, which go to :attr:`credentials`. A newer format is refused.
        """
        version = data.get("format", 1)
        if not isinstance(version, int) or not 1 <= version <= MANIFEST_FORMAT:
            raise ConfigError(
                f"run file {source}: format {version!r} is not one this stormcheck reads"
                f" (1 to {MANIFEST_FORMAT}); it was written by a newer stormcheck"
            )
        try:
            manifest = cls(
                run_id=str(data["run_id"]),
                profile=str(data["profile"]),
                stack=str(data["stack"]),
                created_ms=int(data["created_ms"]),
                state=str(data.get("state", "unknown")),
                lease=Lease.from_dict(data["lease"]),
                network=data.get("network"),
                provenance=Provenance.from_dict(data.get("provenance", {})),
            )
            for name, info in dict(data.get("components", {})).items():
                manifest.add(ComponentRecord.from_dict(str(name), info))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"run file {source}: missing or malformed field {exc}") from None
        return manifest


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
    def resilience_dir(self) -> Path:
        """``resilience/``: the judge's results, one file per judged experiment."""
        return self.root / "resilience"

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

    @property
    def credentials_path(self) -> Path:
        """Where the run's generated credentials are kept: beside the run folder, not in it.

        ``<runs_dir>/.credentials/<run id>.json``, readable by its owner only (0600), so that a
        run folder can be uploaded or shared as it is.
        """
        return self.root.parent / ".credentials" / f"{self.run_id}.json"

    def write_manifest(self, manifest: Manifest) -> None:
        """Write the run file atomically (readers never see half a file); credentials apart."""
        if manifest.credentials:
            self.credentials_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_json_atomically(
                self.credentials_path, dict(manifest.credentials), mode=0o600, redacted=False
            )
        _write_json_atomically(self.manifest_path, manifest.to_dict())

    def remove_credentials(self) -> None:
        """Forget the run's credentials (once its components are gone); an emptied folder goes."""
        self.credentials_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # other runs' credentials are still there
            self.credentials_path.parent.rmdir()

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
        manifest = Manifest.from_dict(data, source=self.manifest_path)
        try:
            stored = json.loads(self.credentials_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stored = {}
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"run credentials {self.credentials_path}: unreadable ({exc})"
            ) from None
        manifest.credentials.update({str(k): str(v) for k, v in dict(stored).items()})
        for password in manifest.credentials.values():
            _register(password)
        return manifest

    def write_verdicts(self, verdicts: Iterable[Verdict]) -> None:
        """Write ``verdicts.json``."""
        _write_json_atomically(self.verdicts_path, [v.to_dict() for v in verdicts])

    def read_verdicts(self) -> list[Verdict]:
        """Read ``verdicts.json`` (empty when the run has none yet)."""
        if not self.verdicts_path.exists():
            return []
        data = json.loads(self.verdicts_path.read_text(encoding="utf-8"))
        return [Verdict.from_dict(item) for item in data]


def _register(password: str) -> None:
    """Make a run's password a known secret; one too short to mask (a test's, a user's own
    attach URL) stays out of the run file all the same, but is not masked elsewhere."""
    with contextlib.suppress(ValueError):
        register(password)


def _write_json_atomically(
    path: Path, data: Any, *, mode: int = 0o644, redacted: bool = True
) -> None:
    """Write ``data`` as JSON; known secrets masked unless ``redacted`` is False (credentials)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(redact(text) if redacted else text)
    os.chmod(tmp, mode)  # the umask may have narrowed it; never widened beyond ``mode``
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
    """The run with ``run_id`` or a unique prefix of it; (None) the only run that is up.

    With no id and more than one run up, nothing is guessed: :class:`RunNotFoundError` lists them
    (another person's or another session's run must never be picked by accident).
    """
    runs = list_runs(runs_dir)
    if run_id is None:
        live = [r for r in runs if r.read_manifest().state == "up"]
        if not live:
            raise RunNotFoundError(f"no run is up under {runs_dir}; start one with `stormcheck up`")
        if len(live) > 1:
            listed = ", ".join(r.run_id for r in live)
            raise RunNotFoundError(
                f"{len(live)} runs are up under {runs_dir} ({listed}); name the one you mean"
            )
        return live[0]
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
