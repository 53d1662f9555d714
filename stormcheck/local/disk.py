"""Filling a capped volume, and freeing it: the mechanism under the full-disk fault.

:func:`fill` allocates a fill file on a component's capped filesystem
(:mod:`stormcheck.local.volumes`) from the host side until the filesystem answers ``ENOSPC``,
so every later write inside the container fails with "No space left on device". The blocks it
takes were preallocated on the host when the run started: the host's free disk does not move.
The fill file sits beside the container's data directory, not in it, so PostgreSQL never sees
it (nor copies it to a replica). :func:`free` and :func:`free_all` remove it; both are
idempotent. Nothing here records or reverts on its own: the fault ledger wraps these calls.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from stormcheck.errors import PlatformError
from stormcheck.local.volumes import VOLUMES_ROOT, CappedVolume, find_capped_volumes

__all__ = ["FillRecord", "fill", "fill_files", "free", "free_all"]


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A fill file on a capped volume: where it is on the host and how much it holds."""

    run_id: str
    component: str
    container_path: str  # the capped volume it fills, as the container sees it
    path: Path  # the fill file on the host
    bytes: int  # bytes allocated to it
    free_bytes: int  # what the filesystem had left for anyone else when this was taken

    def describe(self) -> str:
        """One line for a snapshot, a log or a diff."""
        return (
            f"{self.component}:{self.container_path} filled with {self.bytes / 2**20:.1f} MiB"
            f" ({self.free_bytes} bytes left)"
        )


def _free_bytes(volume: CappedVolume) -> int:
    stat = os.statvfs(volume.mount_point)
    return stat.f_bavail * stat.f_frsize


def _select(run_id: str, component: str, container_path: str | None, root: Path) -> CappedVolume:
    volumes = find_capped_volumes(run_id, root=root)
    mine = [v for v in volumes if v.component == component]
    if container_path is not None:
        mine = [v for v in mine if v.container_path == container_path]
    if len(mine) == 1:
        return mine[0]
    known = ", ".join(f"{v.component}:{v.container_path}" for v in volumes) or "none"
    if not mine:
        wanted = component + (f":{container_path}" if container_path else "")
        raise PlatformError(
            f"run {run_id} has no capped volume {wanted}; capped volumes of the run: {known}"
        )
    raise PlatformError(
        f"component {component} of run {run_id} has several capped volumes; name one with"
        f" container_path (one of {', '.join(v.container_path for v in mine)})"
    )


def _record(volume: CappedVolume) -> FillRecord:
    try:
        allocated = os.stat(volume.fill_path).st_blocks * 512
    except FileNotFoundError:
        allocated = 0
    return FillRecord(
        volume.run_id,
        volume.component,
        volume.container_path,
        volume.fill_path,
        allocated,
        _free_bytes(volume),
    )


def fill(
    run_id: str,
    component: str,
    container_path: str | None = None,
    *,
    root: Path = VOLUMES_ROOT,
) -> FillRecord:
    """Fill ``component``'s capped volume (the one at ``container_path`` if it has several).

    Allocates the fill file until the filesystem refuses with ``ENOSPC``; filling a full
    volume again only takes what was freed since. Returns the fill file and its size. Raises
    :class:`PlatformError` when the run has no such capped volume, or when it is not mounted
    (the fill would land on the host's disk: refused).
    """
    volume = _select(run_id, component, container_path, root)
    if not volume.is_mounted():
        raise PlatformError(
            f"capped volume {component}:{volume.container_path} of run {run_id} is not mounted at"
            f" {volume.mount_point}; refusing to fill what would be the host's disk"
        )
    fd = os.open(volume.fill_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_dev != os.stat(volume.mount_point).st_dev:
            raise PlatformError(f"{volume.fill_path} is not on the capped filesystem; refused")
        stat = os.fstatvfs(fd)
        offset = os.fstat(fd).st_size
        chunk = max(stat.f_bavail * stat.f_frsize, stat.f_bsize)
        while chunk >= stat.f_bsize:
            try:
                os.posix_fallocate(fd, offset, chunk)
                offset += chunk
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise PlatformError(f"filling {volume.fill_path}: {exc.strerror}") from exc
                chunk //= 2
        os.fsync(fd)
    finally:
        os.close(fd)
    return _record(volume)


def free(record: FillRecord, *, root: Path = VOLUMES_ROOT) -> bool:
    """Remove the fill file of ``record``; True if there was one. Idempotent.

    False, and nothing done, when the run's capped volume is gone already. Raises
    :class:`PlatformError` for a record whose path is not the fill file of its volume (a record
    read back from a file must not delete anything else).
    """
    volumes = find_capped_volumes(record.run_id, root=root)
    matching = [
        v
        for v in volumes
        if v.component == record.component and v.container_path == record.container_path
    ]
    if not matching:
        return False
    volume = matching[0]
    if record.path != volume.fill_path:
        raise PlatformError(
            f"{record.path} is not the fill file of {record.component}:{record.container_path}"
            f" (expected {volume.fill_path}); nothing removed"
        )
    try:
        volume.fill_path.unlink()
    except FileNotFoundError:
        return False
    # commit the journal, so the freed blocks can be allocated again at once
    fd = os.open(volume.mount_point, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def free_all(
    run_id: str, component: str | None = None, *, root: Path = VOLUMES_ROOT
) -> list[FillRecord]:
    """Remove every fill file of ``run_id`` (of ``component`` only, when given); what was removed.

    Harmless when nothing was filled, or when the run's volumes are already gone.
    """
    mine = [r for r in fill_files(run_id, root=root) if component in (None, r.component)]
    return [record for record in mine if free(record, root=root)]


def fill_files(run_id: str, *, root: Path = VOLUMES_ROOT) -> list[FillRecord]:
    """The fill files present on ``run_id``'s mounted capped volumes (read-only)."""
    return [
        _record(volume)
        for volume in find_capped_volumes(run_id, root=root)
        if volume.is_mounted() and volume.fill_path.exists()
    ]
