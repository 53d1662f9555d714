"""Which run an activity acts on, and the handles it needs there.

An activity finds its run from Chaos Toolkit's configuration key ``stormcheck_run``, else the
environment variable ``STORMCHECK_RUN``, else the only run that is up (more than one up and none
named: refused, listing them). The run folders are where the settings say (``STORMCHECK_RUNS_DIR``
and the rest of the settings are read once, here).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import docker.errors
import requests
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.chaos.ledger import Ledger
from stormcheck.clients.toxiproxy import ToxiproxyClient
from stormcheck.errors import ConfigError, NotReadyError, PlatformError, RunNotFoundError
from stormcheck.local.component import Component
from stormcheck.local.engine import connect
from stormcheck.local.platform import refresh_endpoints
from stormcheck.local.session import runs_dir
from stormcheck.local.stacks import STACK_COMPONENTS, components_for, in_role
from stormcheck.runs import Lease, Manifest, RunFolder, find_run
from stormcheck.settings import Settings, load_settings
from stormcheck.waiting import NotYet, poll_until

__all__ = ["RUN_CONFIG_KEY", "RUN_ENV", "RunHandle", "open_run", "resolve_run"]

RUN_CONFIG_KEY = "stormcheck_run"
RUN_ENV = "STORMCHECK_RUN"
BACK_IN_ROLE_S = 90.0


def resolve_run(
    configuration: Mapping[str, Any] | None, settings: Settings | None = None
) -> RunFolder:
    """The run an activity acts on (configuration, then environment, then the only run up)."""
    settings = settings or load_settings()
    named = (configuration or {}).get(RUN_CONFIG_KEY) or os.environ.get(RUN_ENV) or None
    if named is not None and not isinstance(named, str):
        raise ConfigError(f"configuration {RUN_CONFIG_KEY}: expected a run id, got {named!r}")
    folder = find_run(runs_dir(settings), named)
    if named is not None and folder.read_manifest().state != "up":
        raise RunNotFoundError(f"run {folder.run_id} is {folder.read_manifest().state}, not up")
    return folder


@dataclass
class RunHandle:
    """One run, as the fault activities see it: folder, run file, Docker, ledger, holder."""

    folder: RunFolder
    settings: Settings
    holder: Lease = field(default_factory=Lease.for_current_process)

    @cached_property
    def client(self) -> DockerClient:
        """A client of the Docker engine that runs the platform."""
        return connect()

    @property
    def ledger(self) -> Ledger:
        """The run's fault ledger."""
        return Ledger(self.folder)

    def manifest(self) -> Manifest:
        """The run file, read fresh."""
        return self.folder.read_manifest()

    def declared(self) -> dict[str, Component]:
        """Every component of the run as the registry declares it (name → declaration)."""
        manifest = self.manifest()
        found: dict[str, Component] = {}
        for stack in (manifest.stack, "full", "minimal"):
            names = STACK_COMPONENTS.get(stack, ())
            wanted = tuple(n for n in manifest.components if n in names and n not in found)
            if wanted:
                found |= {c.name: c for c in components_for(stack, only=wanted)}
        return found

    def container(self, component: str) -> Container:
        """The Docker container of ``component`` (:class:`PlatformError` when it is gone)."""
        name = self.manifest().container(component)
        try:
            return self.client.containers.get(name)
        except docker.errors.NotFound:
            raise PlatformError(f"run {self.folder.run_id}: container {name} is gone") from None

    def toxiproxy(self) -> ToxiproxyClient:
        """A client of the run's Toxiproxy (the API's links to its database and cache)."""
        return ToxiproxyClient(self.manifest().endpoint("toxiproxy"))

    def wait_back_in_role(self, component: str, *, timeout_s: float = BACK_IN_ROLE_S) -> float:
        """Wait until a restarted ``component`` is ready and back in its role; the seconds taken.

        A restarted container keeps its host ports; one published without fixed ports (an
        older run) has new ones, and the run file's endpoints follow it first.
        """
        declared = self.declared()
        if component not in declared:
            return 0.0
        check = in_role(declared[component]).ready
        started = time.monotonic()

        def ready() -> bool | NotYet:
            manifest = self.manifest()
            refresh_endpoints(self.client, self.folder, manifest, declared)
            try:
                check(manifest.endpoints(component))
            except (NotReadyError, requests.RequestException, OSError) as exc:
                return NotYet(str(exc))
            return True

        poll_until(
            ready,
            timeout_s=timeout_s,
            interval_s=0.25,
            on_timeout=lambda why: NotReadyError(
                f"{component} not back in its role within {timeout_s:g} s: {why}"
            ),
        )
        return time.monotonic() - started

    def close(self) -> None:
        """Close the Docker client if one was opened."""
        if "client" in self.__dict__:
            self.client.close()


def open_run(configuration: Mapping[str, Any] | None = None) -> RunHandle:
    """The :class:`RunHandle` of the run an activity acts on."""
    settings = load_settings()
    return RunHandle(resolve_run(configuration, settings), settings)
