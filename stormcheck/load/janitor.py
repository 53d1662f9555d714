"""Finds and ends load generators whose owning engine process is gone.

Every Locust process the runner starts carries ``STORMCHECK_LOAD_OWNER=<pid>:<start ticks>`` in
its environment. A generator whose owner died (killed engine, closed terminal) would keep loading
the platform; the janitor ends it, and removes the empty CPU cgroups such runs left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

__all__ = ["OWNER_ENV", "owner_tag", "reap_orphan_generators"]

OWNER_ENV = "STORMCHECK_LOAD_OWNER"
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))
log = logging.getLogger(__name__)


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def owner_tag(pid: int | None = None) -> str:
    """The value of :data:`OWNER_ENV` for a generator owned by ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_ticks(pid)}"


def _owner_alive(tag: str) -> bool:
    pid_text, _, ticks = tag.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    current = _start_ticks(pid)
    return current is not None and (ticks in {"", "None"} or str(current) == ticks)


def _owner_of(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    prefix = OWNER_ENV.encode() + b"="
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode(errors="replace")
    return None


def reap_orphan_generators(grace_s: float = 5.0) -> list[int]:
    """End every load generator whose owner is gone (SIGTERM, then SIGKILL); their pids."""
    orphans = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        tag = _owner_of(int(entry.name))
        if tag is not None and not _owner_alive(tag):
            orphans.append(int(entry.name))
    for pid in orphans:
        log.warning("ending orphaned load generator pid %d", pid)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while orphans and time.monotonic() < deadline and any(_start_ticks(p) for p in orphans):
        time.sleep(0.1)
    for pid in orphans:
        if _start_ticks(pid) is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    _remove_stale_cgroups()
    return orphans


def _remove_stale_cgroups() -> None:
    for root in _CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            for group in root.glob("stormcheck-load-*"):
                owner = group.name.split("-")[2]
                if owner.isdigit() and _start_ticks(int(owner)) is None:
                    with contextlib.suppress(OSError):
                        group.rmdir()
