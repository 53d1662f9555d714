"""Size-capped volumes: a directory of a container on an ext4 filesystem of its own.

A component that declares ``capped_volumes`` (container path → MiB) gets, for each path, an
image file preallocated on the host (so filling the filesystem later takes nothing more from
the host's disk), formatted ext4 without reserved blocks, loop-mounted on the host, and its
``data`` directory bind-mounted into the container. Not tmpfs: tmpfs pages are charged to the
container's memory limit, so a full tmpfs ends in an OOM kill instead of ``ENOSPC``.

Everything is found from the run id alone, so a run whose run folder is gone (or whose
containers are gone) is still cleaned up::

    /var/lib/stormcheck/volumes/<run>/
        labels.json                 the run's labels (and so its owner's lease), for reaping
        <component>/<slug>.json     which container path, how many MiB
        <component>/<slug>.img      the preallocated image (slug: the container path, dashed)
        <component>/<slug>/         its mount point, the root of the capped filesystem
            data/                   bind-mounted into the container at the container path
            fill                    the fill file of a full-disk fault (host side only)

Loop mounts need root on the host (``losetup``/``mount``); without it creating a capped
volume fails with one line saying so.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stormcheck.errors import PlatformError

__all__ = [
    "VOLUMES_ROOT",
    "CappedVolume",
    "RemovedVolumes",
    "capped_volume_runs",
    "create_capped_volume",
    "find_capped_volumes",
    "remove_capped_volumes",
    "run_labels",
]

log = logging.getLogger(__name__)

VOLUMES_ROOT = Path("/var/lib/stormcheck/volumes")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CappedVolume:
    """One capped volume of one component of a run, and where it lives on the host."""

    run_id: str
    component: str
    container_path: str
    size_mib: int
    image: Path  # the preallocated image file
    mount_point: Path  # the root of the capped filesystem on the host

    @property
    def data_dir(self) -> Path:
        """The directory the container sees at ``container_path``."""
        return self.mount_point / "data"

    @property
    def fill_path(self) -> Path:
        """Where a full-disk fault puts its fill file: same filesystem, outside the container's view."""
        return self.mount_point / "fill"

    def is_mounted(self) -> bool:
        """Whether the capped filesystem is mounted at ``mount_point`` (and not the host's disk)."""
        return self.mount_point in _mount_points()


@dataclass(frozen=True, slots=True)
class RemovedVolumes:
    """What :func:`remove_capped_volumes` did: image files removed, and what it could not do."""

    images: tuple[str, ...]
    problems: tuple[str, ...]


def _segment(kind: str, value: str) -> str:
    if not _SEGMENT.fullmatch(value):
        raise PlatformError(
            f"{kind} {value!r} cannot name a capped volume: expected letters, digits, '.', '_', '-'"
        )
    return value


def _run_dir(run_id: str, root: Path) -> Path:
    return root / _segment("run id", run_id)


def _slug(container_path: str) -> str:
    return "-".join(part for part in container_path.split("/") if part) or "root"


def _volume(
    run_id: str, component: str, container_path: str, size_mib: int, root: Path
) -> CappedVolume:
    folder = _run_dir(run_id, root) / _segment("component", component)
    slug = _slug(container_path)
    return CappedVolume(
        run_id, component, container_path, size_mib, folder / f"{slug}.img", folder / slug
    )


def _unescape(field: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as octal escapes
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mount_points() -> list[Path]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    return [Path(_unescape(line.split()[4])) for line in lines if len(line.split()) > 4]


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PlatformError(f"{what}: {' '.join(command)} failed: {exc}") from exc
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split()) or f"exit {done.returncode}"
        raise PlatformError(f"{what}: {' '.join(command)} failed: {detail}")
    return done.stdout


def create_capped_volume(
    run_id: str,
    component: str,
    container_path: str,
    size_mib: int,
    labels: Mapping[str, str],
    *,
    root: Path = VOLUMES_ROOT,
) -> CappedVolume:
    """Preallocate, format and loop-mount a ``size_mib`` ext4 volume for ``component``.

    ``labels`` (the run's Docker labels, with the owner's lease) are kept beside the run's
    volumes so that reaping knows whose they are. Returns the mounted volume; its ``data_dir``
    is what the container mounts. Raises :class:`PlatformError` (one line) when not root, when
    the host's disk cannot hold the image, or when formatting or mounting fails; whatever was
    made by then is left for :func:`remove_capped_volumes`, which the run's clean-up calls.
    """
    volume = _volume(run_id, component, container_path, size_mib, root)
    what = f"capped volume {component}:{container_path} ({size_mib} MiB)"
    if os.geteuid() != 0:
        raise PlatformError(f"{what}: loop-mounting an ext4 image needs root on the host")
    if volume.is_mounted():
        raise PlatformError(f"{what}: {volume.mount_point} is mounted already (made twice?)")
    volume.mount_point.mkdir(parents=True, exist_ok=True)
    labels_file = _run_dir(run_id, root) / "labels.json"
    if not labels_file.exists():
        labels_file.write_text(json.dumps(dict(labels), indent=2, sort_keys=True) + "\n")
    volume.image.with_suffix(".json").write_text(
        json.dumps({"container_path": container_path, "size_mib": size_mib}) + "\n"
    )
    with contextlib.suppress(FileNotFoundError):
        volume.image.unlink()  # a left-over image must not be reused half-made
    _preallocate(volume, what)
    # -m 0: no blocks reserved for root, so the volume is full for every user at once.
    # Zeroing punches holes in the image: mke2fs's discard would punch all of it, and the
    # kernel's lazy inode-table init (through the loop device) punches ~3% some seconds after
    # the mount, and writing there later takes host disk. So: no discard, no lazy init, and
    # the whole image allocated again after mke2fs (a no-op when nothing was punched).
    _run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-m",
            "0",
            "-E",
            "nodiscard,lazy_itable_init=0,lazy_journal_init=0",
            str(volume.image),
        ],
        what,
    )
    _preallocate(volume, what)
    # loop with autoclear: unmounting also frees the loop device
    _run(
        [
            "mount",
            "-t",
            "ext4",
            "-o",
            "loop,nosuid,nodev",
            str(volume.image),
            str(volume.mount_point),
        ],
        what,
    )
    # the image's entrypoints hand this directory to their database user (they chown as root)
    volume.data_dir.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(volume.mount_point / "lost+found")
    return volume


def _preallocate(volume: CappedVolume, what: str) -> None:
    fd = os.open(volume.image, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        # every block allocated now: filling the filesystem later writes into them
        os.posix_fallocate(fd, 0, volume.size_mib * _MIB)
    except OSError as exc:
        raise PlatformError(
            f"{what}: cannot preallocate {volume.image}: {os.strerror(exc.errno or errno.EIO)}"
        ) from exc
    finally:
        os.close(fd)


def _described(image: Path, run_id: str, component: str) -> CappedVolume | None:
    try:
        meta = json.loads(image.with_suffix(".json").read_text())
        return CappedVolume(
            run_id,
            component,
            str(meta["container_path"]),
            int(meta["size_mib"]),
            image,
            image.with_suffix(""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_capped_volumes(run_id: str, *, root: Path = VOLUMES_ROOT) -> list[CappedVolume]:
    """The capped volumes of ``run_id`` that exist on the host (mounted or not), by component.

    None for an id that cannot name one (``create_capped_volume`` refuses those).
    """
    if not _SEGMENT.fullmatch(run_id):
        return []
    run_dir = _run_dir(run_id, root)
    if not run_dir.is_dir():
        return []
    found = []
    for folder in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        for image in sorted(folder.glob("*.img")):
            volume = _described(image, run_id, folder.name)
            if volume is not None:
                found.append(volume)
    return found


def capped_volume_runs(root: Path = VOLUMES_ROOT) -> list[str]:
    """Run ids that have a folder of capped volumes on this host (mounted or left over)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _SEGMENT.fullmatch(p.name))


def run_labels(run_id: str, *, root: Path = VOLUMES_ROOT) -> dict[str, str]:
    """The labels the run's capped volumes were made with (empty when unknown)."""
    if not _SEGMENT.fullmatch(run_id):
        return {}
    try:
        data = json.loads((_run_dir(run_id, root) / "labels.json").read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _loop_devices(run_dir: Path) -> Iterator[str]:
    """Loop devices backed by a file under ``run_dir`` (also once the file is deleted)."""
    try:
        listing = _run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"], "losetup")
    except PlatformError:
        return
    devices = json.loads(listing or "{}").get("loopdevices", [])
    prefix = f"{run_dir}/"
    for device in devices:
        back = str(device.get("back-file") or "").removesuffix(" (deleted)")
        if back.startswith(prefix):
            yield str(device["name"])


def remove_capped_volumes(run_id: str, *, root: Path = VOLUMES_ROOT) -> RemovedVolumes:
    """Unmount, detach and delete every capped volume of ``run_id``; never raises.

    Run it after the run's containers are removed (they hold the mounts). A mount still busy
    is detached lazily (the kernel frees it with its last user) and reported in ``problems``.
    """
    if not _SEGMENT.fullmatch(run_id):
        return RemovedVolumes((), ())  # no capped volume can have been made for it
    run_dir = _run_dir(run_id, root)
    problems: list[str] = []
    prefix = f"{run_dir}/"
    for mount_point in sorted(
        (m for m in _mount_points() if f"{m}/".startswith(prefix)), reverse=True
    ):
        try:
            _run(["umount", str(mount_point)], "unmount")
        except PlatformError as exc:
            problems.append(str(exc))
            try:
                _run(["umount", "--lazy", str(mount_point)], "lazy unmount")
            except PlatformError as lazy:
                problems.append(str(lazy))
    for device in _loop_devices(run_dir):
        try:
            _run(["losetup", "--detach", device], "detach")
        except PlatformError as exc:  # autoclear may have freed it meanwhile
            if Path(device).exists() and any(d == device for d in _loop_devices(run_dir)):
                problems.append(str(exc))
    images = tuple(str(v.image) for v in find_capped_volumes(run_id, root=root))
    if run_dir.exists():
        still = [m for m in _mount_points() if f"{m}/".startswith(prefix)]
        if still:
            problems.append(f"{run_dir}: still mounted at {', '.join(map(str, still))}; kept")
        else:
            shutil.rmtree(run_dir, onexc=_note(problems))
    for problem in problems:
        log.warning("removing the capped volumes of run %s: %s", run_id, problem)
    return RemovedVolumes(images, tuple(problems))


def _note(problems: list[str]) -> Callable[[Callable[..., object], str, BaseException], None]:
    def onexc(_function: Callable[..., object], path: str, exc: BaseException) -> None:
        problems.append(f"cannot remove {path}: {exc}")

    return onexc
