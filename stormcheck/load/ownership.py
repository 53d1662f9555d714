"""Who owns a load generator, and which ones lost their owner.

Every Locust process the runner starts carries ``STORMCHECK_LOAD_OWNER=<pid>:<start ticks>`` in
its environment. A generator whose owner died (killed engine, closed terminal) would keep loading
the platform: :func:`orphan_generators` finds them and :mod:`stormcheck.chaos.janitor` — the one
janitor — ends them and removes the empty CPU cgroups such runs left.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from stormcheck.runs import process_start_ticks

__all__ = ["OWNER_ENV", "orphan_generators", "owner_tag", "process_alive", "stale_cgroups"]

OWNER_ENV = "STORMCHECK_LOAD_OWNER"
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup"))


def owner_tag(pid: int | None = None) -> str:
    """The value of :data:`OWNER_ENV` for a generator owned by ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{process_start_ticks(pid)}"


def _owner_alive(tag: str) -> bool:
    pid_text, _, ticks = tag.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    current = process_start_ticks(pid)
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


def orphan_generators() -> list[int]:
    """The pids of load generators whose owner is gone (read-only; the janitor ends them)."""
    orphans = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        tag = _owner_of(int(entry.name))
        if tag is not None and not _owner_alive(tag):
            orphans.append(int(entry.name))
    return orphans


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs."""
    return process_start_ticks(pid) is not None


def stale_cgroups() -> list[Path]:
    """CPU cgroups of load runs whose owner is gone (empty ones the janitor removes)."""
    found: list[Path] = []
    for root in _CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            for group in root.glob("stormcheck-load-*"):
                owner = group.name.split("-")[2]
                if owner.isdigit() and process_start_ticks(int(owner)) is None:
                    found.append(group)
    return found
