"""The local profile's operations as the CLI and the pytest fixtures use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from docker import DockerClient

from stormcheck.errors import ConfigError, PlatformError
from stormcheck.local.catalogue import Catalogue, Mode, read_catalogue
from stormcheck.local.component import Component
from stormcheck.local.delivery import wire_monitoring
from stormcheck.local.engine import connect
from stormcheck.local.images import (
    BuildResult,
    build_images,
    debian_mirror,
    detect_mode,
    ensure_base,
    plan_images,
)
from stormcheck.local.platform import find_run_resources, start_platform, stop_run
from stormcheck.local.stacks import components_for
from stormcheck.local.variants import Variant, with_variant
from stormcheck.paths import catalogue_path, project_root
from stormcheck.runs import Lease, Manifest, RunFolder, create_run
from stormcheck.settings import Settings
from stormcheck.timeline import EventKind

__all__ = [
    "ReapResult",
    "bring_down",
    "bring_up",
    "prepare_images",
    "reap_runs",
    "runs_dir",
    "start_run",
]

Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    return None


def runs_dir(settings: Settings) -> Path:
    """The run folders' parent, relative paths taken from the project root."""
    path = settings.runs_dir
    return path if path.is_absolute() else project_root() / path


def _require_local(settings: Settings) -> None:
    # The local platform is the local profile's target only (stormcheck.targets): a kubernetes
    # or aws setting must never be served by containers on this machine.
    if settings.profile != "local":
        raise PlatformError(
            f"the local platform serves the local profile, not {settings.profile!r}"
            " (use stormcheck.targets.open_target)"
        )


def prepare_images(
    settings: Settings,
    client: DockerClient,
    *,
    catalogue: Catalogue | None = None,
    roles: tuple[str, ...] = (),
    progress: Progress = _quiet,
) -> tuple[Mode, list[BuildResult]]:
    """Make sure the images of ``roles`` (default: all) exist; build what is missing."""
    catalogue = catalogue or read_catalogue(catalogue_path(), project_root())
    mode = detect_mode(settings.image_mode, settings.container_registry)
    progress(f"image mode: {mode}")
    base = ensure_base(
        client,
        catalogue,
        mode,
        mirror=debian_mirror(settings.debian_mirror),
        work_dir=settings.cache_dir / "build",
    )
    plans = [
        p for p in plan_images(client, catalogue, mode, base) if not roles or p.role.name in roles
    ]
    return mode, build_images(client, plans, cache_dir=settings.cache_dir, progress=progress)


def start_run(
    settings: Settings,
    client: DockerClient,
    components: list[Component],
    *,
    stack: str,
    owner: Literal["process", "user"] | Lease,
    run_id: str | None = None,
    progress: Progress = _quiet,
) -> tuple[RunFolder, Manifest]:
    """Build the images ``components`` need, then start them as a new run; return folder and run file.

    ``owner`` is this process (``"process"``), the user at a terminal (``"user"``: the run lives
    until ``down``), or an explicit lease — e.g. a pytest-xdist controller's, for a platform that a
    worker starts on behalf of the whole session. ``run_id`` is for components that must name their
    own run (a log shipper filtering on it). On failure nothing of the run is left behind.
    """
    _require_local(settings)
    _, built = prepare_images(
        settings, client, roles=tuple({c.role for c in components}), progress=progress
    )
    folder, manifest = create_run(
        runs_dir(settings),
        profile=settings.profile,
        stack=stack,
        lease=owner if isinstance(owner, Lease) else Lease.for_current_process(owner),
        run_id=run_id,
    )
    progress(f"run {manifest.run_id}: starting {len(components)} component(s)")
    start_platform(
        client,
        folder,
        manifest,
        components,
        {b.role: b.ref for b in built},
        ready_timeout_s=settings.ready_timeout_s,
        progress=progress,
    )
    return folder, manifest


def bring_up(
    settings: Settings,
    *,
    owner: Literal["process", "user"] | Lease,
    only: tuple[str, ...] = (),
    progress: Progress = _quiet,
    variant: Variant = Variant.SAFE,
) -> tuple[RunFolder, Manifest]:
    """Start a new run of the settings' stack (see :func:`start_run`), monitoring wired in.

    ``variant`` other than the safe one (a sabotaged platform, :mod:`stormcheck.local.variants`)
    is accepted only for a throwaway run owned by this process (``owner="process"``).

    When the run has Alertmanager or Prometheus, their configuration is installed before this
    returns, and the run file records where Alertmanager delivers (``components.alertmanager.
    webhook``). Nothing listens there yet: a harness process hosts the sink with
    :func:`stormcheck.local.delivery.host_sink`.
    """
    _require_local(settings)
    if variant is not Variant.SAFE and owner != "process":
        raise ConfigError(
            f"platform variant {variant.value!r}: only a throwaway run owned by this process"
            " may be sabotaged"
        )
    client = connect()
    try:
        folder, manifest = start_run(
            settings,
            client,
            with_variant(components_for(settings.stack, only=only), variant),
            stack=settings.stack,
            owner=owner,
            progress=progress,
        )
        try:
            webhook = wire_monitoring(client, folder, manifest)
        except BaseException:
            stop_run(client, manifest.run_id)
            manifest.state = "failed"
            folder.write_manifest(manifest)
            raise
        if webhook is not None:
            progress(f"rules and scrape targets loaded; alerts are delivered to {webhook}")
            progress("  (received only while a harness process hosts the alert sink there)")
        return folder, manifest
    finally:
        client.close()


def bring_down(settings: Settings, folder: RunFolder) -> tuple[str, ...]:
    """Remove everything of the run in ``folder``; return the names of what was removed."""
    client = connect()
    try:
        removed = stop_run(client, folder.run_id)
    finally:
        client.close()
    if folder.manifest_path.exists():
        manifest = folder.read_manifest()
        manifest.state = "down"
        manifest.credentials.clear()  # the components they opened are gone
        folder.write_manifest(manifest)
        folder.timeline.record(EventKind.RUN_END, folder.run_id)
    folder.remove_credentials()
    return removed.containers + removed.networks + removed.volumes + removed.capped_volumes


@dataclass(frozen=True, slots=True)
class ReapResult:
    """What ``down --all`` did with one run."""

    run_id: str
    removed: bool
    reason: str


def reap_runs(settings: Settings, *, force: bool, include_user_runs: bool) -> list[ReapResult]:
    """Remove runs whose owner is gone (and user-owned runs when asked, everything when forced).

    A run owned by a live process (a test session, `stormcheck run`) is left alone unless forced.
    """
    client = connect()
    results = []
    try:
        for run in find_run_resources(client):
            alive = run.lease.kind == "process" and run.lease.owner_alive()
            if alive and not force:
                results.append(ReapResult(run.run_id, False, f"owner pid {run.lease.pid} is alive"))
                continue
            if run.lease.kind == "user" and not (include_user_runs or force):
                results.append(ReapResult(run.run_id, False, "started by a user; `down` it by id"))
                continue
            stop_run(client, run.run_id)
            folder = RunFolder(runs_dir(settings) / run.run_id)
            if folder.manifest_path.exists():
                manifest = folder.read_manifest()
                manifest.state = "down"
                manifest.credentials.clear()
                folder.write_manifest(manifest)
            folder.remove_credentials()
            reason = (
                "forced" if alive else ("user run" if run.lease.kind == "user" else "owner gone")
            )
            results.append(ReapResult(run.run_id, True, reason))
    finally:
        client.close()
    return results
