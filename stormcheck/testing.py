"""What the pytest fixtures hand to tests, as typed, pytest-free records.

The fixtures (``fixtures/``) build these; the suites annotate their fixture arguments with them
and never import the fixtures themselves (the import contracts). Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from docker import DockerClient
from docker.models.containers import Container
from docker.types import LogConfig

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.snapshot import SETTLE_S, Snapshot, settled
from stormcheck.chaos.snapshot import diff as snapshot_diff
from stormcheck.chaos.snapshot import take as take_snapshot
from stormcheck.local.component import Component
from stormcheck.local.platform import RUN_LABEL
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.observability.sink import AlertSink
from stormcheck.redaction import find_secrets
from stormcheck.runs import Manifest, RunFolder

__all__ = [
    "FaultBench",
    "LogPipeline",
    "MonitoredPlatform",
    "OpenSearchNode",
    "PlatformRun",
    "assert_no_secret_in",
]


def assert_no_secret_in(paths: Iterable[Path], secrets: Iterable[str]) -> int:
    """Raise :class:`AssertionError` naming every file under ``paths`` (folders walked) that holds
    one of ``secrets`` — as written, URL-encoded or JSON-escaped; the number of files checked.

    The message names the file and the secret by its position in ``secrets``, never its value.
    A path that does not exist is an error too (a check of nothing proves nothing).
    """
    paths = list(paths)
    values = list(secrets)
    missing = [p for p in paths if not p.exists()]
    if missing or not values:
        raise AssertionError(f"nothing to check: missing {missing}, {len(values)} secret(s)")
    checked = sum(1 if p.is_file() else sum(1 for f in p.rglob("*") if f.is_file()) for p in paths)
    found = find_secrets(paths, values)
    if found:
        lines = "\n".join(f"  {file}: secret #{index}" for file, index in found)
        raise AssertionError(f"{len(found)} secret(s) in clear in {checked} file(s):\n{lines}")
    return checked


@dataclass(frozen=True, slots=True)
class PlatformRun:
    """A run of the local platform as tests see it; ``owned``: this session removes it."""

    folder: RunFolder
    owned: bool

    @property
    def manifest(self) -> Manifest:
        """The run file, read fresh (components move after a failover or a restart)."""
        return self.folder.read_manifest()


@dataclass(frozen=True, slots=True)
class MonitoredPlatform:
    """A running monitored stack, its run folder and the alert sink it notifies."""

    folder: RunFolder
    manifest: Manifest
    sink: AlertSink


@dataclass(frozen=True, slots=True)
class OpenSearchNode:
    """One OpenSearch node started as a run of its own."""

    url: str
    folder: RunFolder
    container: str


@dataclass(frozen=True, slots=True)
class LogPipeline:
    """The shared log pipeline run: its folder, run file, images and prepared log store."""

    folder: RunFolder
    manifest: Manifest
    images: dict[str, str]
    store: OpenSearchStore
    client: DockerClient

    @property
    def run_id(self) -> str:
        """The run's id (the ``run`` field of its log documents)."""
        return self.manifest.run_id

    def container(self, component: str) -> Container:
        """The Docker container of ``component``."""
        return self.client.containers.get(self.manifest.container(component))

    def start_extra(self, component: Component) -> Container:
        """Start ``component`` in the running run: its network, labels and json-file log labels.

        Not recorded in the run file; ``stop_run`` removes it by its run label. Returns the
        container, started (whether its process is ready is the caller's to check).
        """
        labels = {
            "stormcheck.managed": "true",
            RUN_LABEL: self.run_id,
            **self.manifest.lease.to_labels(),
            "stormcheck.role": component.role,
            "stormcheck.zone": component.zone,
        }
        return self.client.containers.run(
            self.images[component.role],
            name=f"sc-{self.run_id}-{component.name}",
            detach=True,
            environment=dict(component.env),
            labels=labels,
            network=self.manifest.network,
            hostname=component.name,
            ports={f"{p}/tcp": ("127.0.0.1", None) for p in component.ports},
            nano_cpus=int(component.cpus * 1e9),
            mem_limit=f"{component.memory_mb}m",
            log_config=LogConfig(
                type="json-file",
                config={"labels": "stormcheck.run,stormcheck.role,stormcheck.zone"},
            ),
        )


@dataclass(frozen=True, slots=True)
class FaultBench:
    """A run to break in a test: its handle, the configuration activities take, and the state
    before the test (the fixture rolls back what the test still holds, by construction)."""

    handle: RunHandle
    configuration: dict[str, str]
    before: Snapshot

    def diff(self) -> list[str]:
        """What differs now from the state before the test (empty: nothing left behind)."""
        return snapshot_diff(self.before, take_snapshot(self.handle))

    def settled_diff(self, settle_s: float = SETTLE_S) -> list[str]:
        """What still differs once the platform settled, as an experiment's snapshot is compared:
        for a fault whose undo restarts a member (Patroni names it a replica, then sync standby,
        on its next loops)."""
        return settled(self.handle, self.before, settle_s)
