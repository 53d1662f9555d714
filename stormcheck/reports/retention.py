"""Evidence that outlives the platform: a run's metrics and log documents, kept in its folder.

Before a run goes down, :func:`retain_evidence` saves into ``<run folder>/evidence/``::

    evidence.json              what was kept: per part its status, time range and size (format 1)
    prometheus/                a TSDB snapshot of the run's Prometheus (its admin API): the blocks,
                               head included, exactly as Prometheus wrote them
    logs/documents.ndjson.gz   every document of the run's log store (``logs-*``), one JSON object
                               a line: ``{"_index", "_id", "@ms", "_source"}`` (gzip)

A part the run does not have (no log store on the minimal stack) is ``absent``; a part that could
not be read (Prometheus stopped by an experiment) is ``failed`` with the reason; a part over its
bound (:data:`MAX_PROMETHEUS_BYTES`, :data:`MAX_LOG_DOCUMENTS`) is ``too-large`` and not kept
(a partial export would give wrong counts, not fewer). Retaining never stops ``down``.

Once the platform is gone, :func:`read_evidence` checks the folder (a missing or corrupt one is a
:class:`~stormcheck.errors.ConfigError` naming the file and what was expected),
:meth:`Evidence.check_window` refuses a window outside the retained range at once (nothing is
waited for: no more data will come), and :func:`serve_evidence` serves the retained data to the
same evaluation the live gate uses: a host Prometheus (Debian's binary) on a copy of the blocks,
and, for log-based SLOs, a one-node OpenSearch (the catalogue's image, a throw-away run of its own)
loaded with the documents. Same data, same queries: the same verdicts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import docker.errors
import httpx

from stormcheck.errors import BackendError, ConfigError, PlatformError, StormcheckError
from stormcheck.local.engine import connect
from stormcheck.local.logstore import opensearch
from stormcheck.local.session import bring_down, start_run
from stormcheck.logstore.query import DEFAULT_INDEX
from stormcheck.logstore.store import LogStore
from stormcheck.logstore.template import TEMPLATE_NAME, read_index_template
from stormcheck.observability.host_prometheus import HostPrometheus, serve_blocks
from stormcheck.runs import Manifest, RunFolder
from stormcheck.settings import Settings
from stormcheck.timeline import iso_ms, now_ms
from stormcheck.verdict import Window

__all__ = [
    "EVIDENCE_FORMAT",
    "MAX_LOG_DOCUMENTS",
    "MAX_PROMETHEUS_BYTES",
    "Evidence",
    "RetainedPart",
    "ServedEvidence",
    "evidence_dir",
    "read_evidence",
    "retain_before_down",
    "retain_evidence",
    "serve_evidence",
]

EVIDENCE_FORMAT = 1
#: A run's TSDB snapshot above this is not kept (a 10-minute full-stack run is a few MB).
MAX_PROMETHEUS_BYTES = 512 * 1024 * 1024
#: A log store with more documents than this is not exported.
MAX_LOG_DOCUMENTS = 2_000_000
_LOGS_FILE = "logs/documents.ndjson.gz"
_SNAPSHOT_TIMEOUT_S = 120.0
_LOAD_BATCH = 2000
_READER_READY_S = 120.0

PartStatus = Literal["retained", "absent", "failed", "too-large"]
_STATUSES: tuple[str, ...] = ("retained", "absent", "failed", "too-large")
Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetainedPart:
    """One retained part (``prometheus`` or ``logs``): its status, data range and size."""

    name: str
    status: PartStatus
    reason: str = ""
    path: str = ""
    start_ms: int | None = None
    end_ms: int | None = None
    size_bytes: int = 0
    documents: int | None = None

    @property
    def retained(self) -> bool:
        """Whether the data is in the evidence folder."""
        return self.status == "retained"

    def describe(self) -> str:
        """One line: what was kept, or why not."""
        if not self.retained:
            return f"{self.name}: {self.status} ({self.reason})"
        count = "" if self.documents is None else f", {self.documents} documents"
        return (
            f"{self.name}: {iso_ms(self.start_ms or 0)}..{iso_ms(self.end_ms or 0)}"
            f", {self.size_bytes / 1e6:.1f} MB{count}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``evidence.json``)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}

    @classmethod
    def from_dict(cls, name: str, data: Any, source: Path) -> RetainedPart:
        """Inverse of :meth:`to_dict`; :class:`ConfigError` names the file and the field."""
        where = f"evidence file {source}: field {name!r}"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected an object, got {type(data).__name__}")
        status = data.get("status")
        if status not in _STATUSES:
            raise ConfigError(
                f"{where}.status: expected one of {', '.join(_STATUSES)}, got {status!r}"
            )
        part = cls(
            name=name,
            status=status,
            reason=str(data.get("reason", "")),
            path=str(data.get("path", "")),
            start_ms=_optional_int(data, "start_ms", where),
            end_ms=_optional_int(data, "end_ms", where),
            size_bytes=_optional_int(data, "size_bytes", where) or 0,
            documents=_optional_int(data, "documents", where),
        )
        if part.retained and (part.start_ms is None or part.end_ms is None or not part.path):
            raise ConfigError(f"{where}: a retained part needs path, start_ms and end_ms")
        return part


def _optional_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """A run's retained evidence, as :func:`read_evidence` found it."""

    root: Path
    run_id: str
    retained_ms: int
    prometheus: RetainedPart
    logs: RetainedPart

    @property
    def path(self) -> Path:
        """``evidence.json``."""
        return self.root / "evidence.json"

    def size_bytes(self) -> int:
        """The evidence folder's size on disk."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def _needed(self, *, metrics: bool, logs: bool) -> list[RetainedPart]:
        """The retained parts among those asked for (one not retained leaves its SLOs
        ``inconclusive``, as a backend that is missing on a live run does)."""
        wanted = [p for p, asked in ((self.prometheus, metrics), (self.logs, logs)) if asked]
        return [p for p in wanted if p.retained]

    def missing(self, *, metrics: bool, logs: bool) -> list[RetainedPart]:
        """The parts asked for that were not retained."""
        wanted = [p for p, asked in ((self.prometheus, metrics), (self.logs, logs)) if asked]
        return [p for p in wanted if not p.retained]

    def window(self, *, metrics: bool, logs: bool) -> Window:
        """The range every needed, retained part covers (the default window of a retained run)."""
        needed = self._needed(metrics=metrics, logs=logs)
        if not needed:
            raise ConfigError(
                f"run {self.run_id} is down and none of the data its SLOs need was retained"
                f" ({'; '.join(p.describe() for p in self.missing(metrics=metrics, logs=logs))})"
            )
        start = max(p.start_ms or 0 for p in needed)
        end = min(p.end_ms or 0 for p in needed)
        if end <= start:
            raise ConfigError(f"run {self.run_id}: the retained parts share no time range")
        return Window(start, end)

    def check_window(self, window: Window, *, metrics: bool, logs: bool) -> None:
        """:class:`ConfigError` (one line) unless every needed, retained part covers ``window``."""
        for part in self._needed(metrics=metrics, logs=logs):
            start, end = part.start_ms or 0, part.end_ms or 0
            if window.start_ms < start or window.end_ms > end:
                raise ConfigError(
                    f"window {iso_ms(window.start_ms)}..{iso_ms(window.end_ms)} is outside the"
                    f" retained {part.name} data of run {self.run_id}"
                    f" ({iso_ms(start)}..{iso_ms(end)}); choose a window inside it"
                )


def evidence_dir(folder: RunFolder) -> Path:
    """``<run folder>/evidence``."""
    return folder.root / "evidence"


# --- retaining, while the run is up ---------------------------------------------------------


def _block_ranges(data_dir: Path) -> list[tuple[int, int]]:
    """``(minTime, maxTime)`` of every TSDB block in ``data_dir``; ConfigError on a bad meta.json."""
    ranges = []
    for meta in sorted(data_dir.glob("*/meta.json")):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            ranges.append((int(data["minTime"]), int(data["maxTime"])))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"TSDB block {meta}: expected JSON with integer minTime and maxTime ({exc})"
            ) from None
    return ranges


def _copy_snapshot(container: Any, source: str, target: Path) -> int:
    """Copy ``source`` (a folder in ``container``) into ``target``; return the bytes copied."""
    target.mkdir(parents=True)
    archive_path = target.parent / ".snapshot.tar"
    try:
        chunks, _ = container.get_archive(source)
        copied = 0
        with archive_path.open("wb") as out:
            for chunk in chunks:
                copied += len(chunk)
                if copied > MAX_PROMETHEUS_BYTES:
                    raise _TooLargeError(f"the snapshot exceeds {MAX_PROMETHEUS_BYTES} bytes")
                out.write(chunk)
        with tarfile.open(archive_path) as archive:
            for member in archive.getmembers():
                _, _, rest = member.name.partition("/")
                if not rest:
                    continue  # the snapshot's own folder
                member.name = rest
                archive.extract(member, target, filter="data")
    finally:
        archive_path.unlink(missing_ok=True)
    return sum(p.stat().st_size for p in target.rglob("*") if p.is_file())


class _TooLargeError(Exception):
    pass


def _retain_prometheus(client: Any, manifest: Manifest, root: Path) -> RetainedPart:
    if "prometheus" not in manifest.components:
        return RetainedPart(name="prometheus", status="absent", reason="the run has no Prometheus")
    url = manifest.endpoint("prometheus")
    try:
        answer = httpx.post(f"{url}/api/v1/admin/tsdb/snapshot", timeout=_SNAPSHOT_TIMEOUT_S)
        answer.raise_for_status()
        name = str(answer.json()["data"]["name"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return RetainedPart(
            name="prometheus",
            status="failed",
            reason=f"Prometheus at {url} made no TSDB snapshot: {exc}",
        )
    try:
        container = client.containers.get(manifest.container("prometheus"))
        size = _copy_snapshot(container, f"/prometheus/snapshots/{name}", root / "prometheus")
    except _TooLargeError as exc:
        shutil.rmtree(root / "prometheus", ignore_errors=True)
        return RetainedPart(name="prometheus", status="too-large", reason=str(exc))
    except (docker.errors.DockerException, OSError, tarfile.TarError) as exc:
        shutil.rmtree(root / "prometheus", ignore_errors=True)
        return RetainedPart(
            name="prometheus", status="failed", reason=f"copying snapshot {name} failed: {exc}"
        )
    ranges = _block_ranges(root / "prometheus")
    if not ranges:
        return RetainedPart(
            name="prometheus", status="failed", reason="the snapshot holds no sample"
        )
    return RetainedPart(
        name="prometheus",
        status="retained",
        path="prometheus",
        start_ms=min(r[0] for r in ranges),
        end_ms=max(r[1] for r in ranges) - 1,  # a block's maxTime is exclusive
        size_bytes=size,
    )


def _retain_logs(manifest: Manifest, root: Path) -> RetainedPart:
    if "opensearch" not in manifest.components:
        return RetainedPart(name="logs", status="absent", reason="the run has no log store")
    # imported here: the search client costs half a second of every CLI start otherwise
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    target = root / _LOGS_FILE
    target.parent.mkdir(parents=True)
    store = OpenSearchStore(manifest.endpoint("opensearch"), timeout_s=60.0)
    count, start, end = 0, None, None
    try:
        with gzip.open(target, "wt", encoding="utf-8") as out:
            for record in store.scan(DEFAULT_INDEX):
                count += 1
                if count > MAX_LOG_DOCUMENTS:
                    raise _TooLargeError(f"more than {MAX_LOG_DOCUMENTS} documents")
                start = record.at_ms if start is None else min(start, record.at_ms)
                end = record.at_ms if end is None else max(end, record.at_ms)
                line = {
                    "_index": record.index,
                    "_id": record.doc_id,
                    "@ms": record.at_ms,
                    "_source": record.fields,
                }
                out.write(json.dumps(line, separators=(",", ":")) + "\n")
    except _TooLargeError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        return RetainedPart(name="logs", status="too-large", reason=str(exc))
    except (BackendError, OSError) as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        return RetainedPart(name="logs", status="failed", reason=str(exc))
    finally:
        store.close()
    if start is None or end is None:
        shutil.rmtree(target.parent, ignore_errors=True)
        return RetainedPart(name="logs", status="failed", reason="the log store holds no document")
    return RetainedPart(
        name="logs",
        status="retained",
        path=_LOGS_FILE,
        start_ms=start,
        end_ms=end,
        size_bytes=target.stat().st_size,
        documents=count,
    )


def _write_evidence(evidence: Evidence) -> None:
    document = {
        "format": EVIDENCE_FORMAT,
        "run_id": evidence.run_id,
        "retained_ms": evidence.retained_ms,
        "prometheus": evidence.prometheus.to_dict(),
        "logs": evidence.logs.to_dict(),
    }
    evidence.path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", "utf-8")


def retain_evidence(folder: RunFolder, *, progress: Progress = _quiet) -> Evidence:
    """Save the run's Prometheus data and log documents into ``evidence/`` (the run is up).

    An earlier evidence folder is replaced only once the new one is complete. Parts that cannot
    be kept are recorded with the reason; :class:`PlatformError` only when the Docker engine
    cannot be reached at all.
    """
    manifest = folder.read_manifest()
    final = evidence_dir(folder)
    work = folder.root / f".evidence.{os.getpid()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        client = connect()
        try:
            prometheus = _retain_prometheus(client, manifest, work)
        finally:
            client.close()
        progress(f"evidence: {prometheus.describe()}")
        logs = _retain_logs(manifest, work)
        progress(f"evidence: {logs.describe()}")
        evidence = Evidence(
            root=work,
            run_id=manifest.run_id,
            retained_ms=now_ms(),
            prometheus=prometheus,
            logs=logs,
        )
        _write_evidence(evidence)
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return dataclasses.replace(evidence, root=final)


def retain_before_down(folder: RunFolder, *, progress: Progress = _quiet) -> Evidence | None:
    """:func:`retain_evidence` for a run that is up, as the last step before ``down``.

    Never raises: what prevented it is one line through ``progress``, and ``down`` goes on (a
    run must be removable even when its evidence cannot be kept). ``None``: nothing was kept.
    """
    try:
        if folder.read_manifest().state != "up":
            return None
        evidence = retain_evidence(folder, progress=progress)
    except (StormcheckError, OSError) as exc:
        progress(f"evidence: not retained: {exc}")
        return None
    progress(f"evidence: {evidence.size_bytes() / 1e6:.1f} MB kept in {evidence.root}")
    return evidence


# --- reading, once the run is down ----------------------------------------------------------


def read_evidence(folder: RunFolder) -> Evidence:
    """The run's retained evidence; :class:`ConfigError` (one line) when missing or corrupt."""
    root = evidence_dir(folder)
    path = root / "evidence.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"run {folder.run_id} is down and kept no evidence ({path} is missing): it was"
            " taken down without retention, or its evidence was removed"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"evidence file {path}: not valid JSON ({exc})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"evidence file {path}: expected a JSON object")
    if data.get("format") != EVIDENCE_FORMAT:
        raise ConfigError(
            f"evidence file {path}: field 'format': expected {EVIDENCE_FORMAT},"
            f" got {data.get('format')!r}"
        )
    for key in ("run_id", "retained_ms", "prometheus", "logs"):
        if key not in data:
            raise ConfigError(f"evidence file {path}: missing field {key!r}")
    retained_ms = data["retained_ms"]
    if isinstance(retained_ms, bool) or not isinstance(retained_ms, int):
        raise ConfigError(f"evidence file {path}: field 'retained_ms': expected epoch ms")
    evidence = Evidence(
        root=root,
        run_id=str(data["run_id"]),
        retained_ms=retained_ms,
        prometheus=RetainedPart.from_dict("prometheus", data["prometheus"], path),
        logs=RetainedPart.from_dict("logs", data["logs"], path),
    )
    if evidence.prometheus.retained:
        blocks = root / evidence.prometheus.path
        if not _block_ranges(blocks):
            raise ConfigError(
                f"evidence folder {blocks}: expected TSDB blocks (folders with a meta.json),"
                " found none"
            )
    if evidence.logs.retained and not (root / evidence.logs.path).is_file():
        raise ConfigError(f"evidence file {root / evidence.logs.path} is missing")
    return evidence


@dataclass(slots=True)
class ServedEvidence:
    """Backends serving retained data: Prometheus' URL (``None``: not needed) and log stores."""

    prometheus_url: str | None = None
    stores: dict[str, LogStore] = field(default_factory=dict)


def _serve_prometheus(evidence: Evidence, work: Path) -> HostPrometheus:
    data_dir = work / "data"
    # a copy: Prometheus compacts and locks what it serves; the evidence stays as it was kept
    shutil.copytree(evidence.root / evidence.prometheus.path, data_dir)
    try:
        return serve_blocks(data_dir, work)
    except RuntimeError as exc:
        raise ConfigError(
            f"evidence folder {evidence.root / evidence.prometheus.path}: Prometheus cannot serve"
            f" it ({str(exc).splitlines()[0]})"
        ) from None


def _documents(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(index, source)`` of every retained document; ConfigError names a corrupt line."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    item = json.loads(line)
                    yield str(item["_index"]), dict(item["_source"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(
                        f"evidence file {path}: line {number}: expected a JSON object with"
                        f" _index and _source ({exc})"
                    ) from None
    except (OSError, EOFError) as exc:
        raise ConfigError(f"evidence file {path}: unreadable ({exc})") from None


def _load_documents(url: str, path: Path, expected: int | None) -> None:
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    store = OpenSearchStore(url, timeout_s=60.0)
    try:
        store.put_index_template(TEMPLATE_NAME, read_index_template())
        batches: dict[str, list[dict[str, Any]]] = {}
        for index, source in _documents(path):
            batch = batches.setdefault(index, [])
            batch.append(source)
            if len(batch) >= _LOAD_BATCH:
                store.index_documents(index, batch, refresh=False)
                batch.clear()
        for index, batch in batches.items():
            store.index_documents(index, batch, refresh=False)
    finally:
        store.close()
    try:
        httpx.post(f"{url}/{DEFAULT_INDEX}/_refresh", timeout=60).raise_for_status()
        loaded = int(httpx.get(f"{url}/{DEFAULT_INDEX}/_count", timeout=60).json()["count"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise PlatformError(
            f"the evidence's log reader at {url}: refresh or count failed: {exc}"
        ) from exc
    if expected is not None and loaded != expected:
        raise ConfigError(
            f"evidence file {path}: {loaded} documents loaded, evidence.json says {expected}"
        )


@contextlib.contextmanager
def _log_reader(
    evidence: Evidence,
    settings: Settings,
    work: Path,
    backends: tuple[str, ...],
    progress: Progress,
) -> Iterator[dict[str, LogStore]]:
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    reader_settings = dataclasses.replace(
        settings,
        runs_dir=work / "runs",
        ready_timeout_s=max(settings.ready_timeout_s, _READER_READY_S),
    )
    client = connect()
    try:
        progress("evidence: starting an OpenSearch node for the retained log documents")
        folder, manifest = start_run(
            reader_settings, client, [opensearch()], stack="evidence", owner="process"
        )
    finally:
        client.close()
    try:
        url = manifest.endpoint("opensearch")
        _load_documents(url, evidence.root / evidence.logs.path, evidence.logs.documents)
        progress(f"evidence: {evidence.logs.documents} log documents loaded into {url}")
        stores: dict[str, LogStore] = {b: OpenSearchStore(url) for b in backends}
        try:
            yield stores
        finally:
            for store in stores.values():
                store.close()
    finally:
        with contextlib.suppress(StormcheckError, docker.errors.DockerException):
            bring_down(reader_settings, folder)


@contextlib.contextmanager
def serve_evidence(
    evidence: Evidence,
    settings: Settings,
    *,
    metrics: bool,
    log_backends: tuple[str, ...] = (),
    progress: Progress = _quiet,
) -> Iterator[ServedEvidence]:
    """Serve the retained data the SLOs need; everything started is stopped on exit.

    ``metrics``: a host Prometheus on a copy of the blocks. ``log_backends``: the backend names
    the log-based SLOs ask for; one OpenSearch node answers for them all (Elasticsearch and
    OpenSearch speak the same query language).
    """
    served = ServedEvidence()
    with tempfile.TemporaryDirectory(prefix=f"stormcheck-evidence-{evidence.run_id}-") as tmp:
        work = Path(tmp)
        prometheus: HostPrometheus | None = None
        try:
            if metrics and evidence.prometheus.retained:
                (work / "prometheus").mkdir()
                prometheus = _serve_prometheus(evidence, work / "prometheus")
                served.prometheus_url = prometheus.url
                progress(f"evidence: retained metrics served by {prometheus.url}")
            if log_backends and evidence.logs.retained:
                with _log_reader(evidence, settings, work, log_backends, progress) as stores:
                    served.stores = stores
                    yield served
            else:
                yield served
        finally:
            if prometheus is not None:
                prometheus.stop()
