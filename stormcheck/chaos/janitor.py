"""The one janitor: reverts what a dead holder left behind, and ends orphaned load generators.

Three sweeps, in order:

1. **the ledgers** — of the runs under the settings' runs folder, and of every run whose
   containers name their folder (label ``stormcheck.folder``): every live fault whose holder
   (pid, process start time, boot id) is gone is undone and settled; a holder that lives is
   never touched, whichever runs folder the janitor was started for;
2. **a scan by label and state** of every run's containers, for what no ledger names (e.g. the
   run folder, and its ledger, was deleted while a fault was on): paused containers,
   CPU or memory limits that differ from the registry's declaration, iptables rules a fault
   tagged, Toxiproxy toxics and disabled proxies. Components under a live holder's fault are
   skipped;
3. **load generators** whose owning engine process is gone are ended (SIGTERM, then SIGKILL),
   and the empty CPU cgroups of such runs removed.

It runs by itself at the start of ``up``, ``run``, ``load`` and ``experiment run``, and as
``stormcheck janitor [--dry-run]``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.ledger import Ledger
from stormcheck.chaos.revert import docker_update, nsenter_iptables, revert_entry
from stormcheck.clients.toxiproxy import ToxiproxyClient
from stormcheck.errors import BackendError, PlatformError, StormcheckError
from stormcheck.load.ownership import orphan_generators, process_alive, stale_cgroups
from stormcheck.local import disk
from stormcheck.local.component import Component
from stormcheck.local.platform import FOLDER_LABEL, find_run_resources
from stormcheck.local.session import runs_dir
from stormcheck.local.stacks import STACK_COMPONENTS, components_for
from stormcheck.runs import Lease, RunFolder, list_runs
from stormcheck.settings import Settings
from stormcheck.waiting import NotYet, poll_until

__all__ = ["Finding", "end_generators", "sweep"]

log = logging.getLogger(__name__)

_TOXIPROXY_API_PORT = "8474/tcp"
_GENERATOR_GRACE_S = 5.0
_SCAN_WORKERS = 8


@dataclass(frozen=True, slots=True)
class Finding:
    """Something left behind, and what the janitor did (or, dry, would do) about it."""

    run_id: str
    what: str
    done: bool

    def line(self) -> str:
        """One line for the terminal."""
        return f"{'reverted' if self.done else 'found':9} {self.run_id or '-':24} {self.what}"


# --- 1. the ledgers ---------------------------------------------------------------------------


def _run_folders(settings: Settings, client: DockerClient) -> list[RunFolder]:
    """Every run folder to look at: those under the settings' runs folder, and those the run
    labels on this engine's containers name (runs started from another runs folder)."""
    found = {folder.root.resolve(): folder for folder in list_runs(runs_dir(settings))}
    for container in client.containers.list(all=True, filters={"label": FOLDER_LABEL}):
        path = Path(container.labels[FOLDER_LABEL])
        if (path / "manifest.json").is_file():
            found.setdefault(path.resolve(), RunFolder(path))
    return sorted(found.values(), key=lambda folder: folder.run_id)


def _ledger_sweep(
    settings: Settings, client: DockerClient, *, dry_run: bool
) -> tuple[list[Finding], dict[str, set[str]]]:
    """Dead holders' faults undone; and, per run, the components the scan must leave alone
    (under a live holder's fault, or, in a dry run, already listed here)."""
    findings: list[Finding] = []
    held: dict[str, set[str]] = {}
    for folder in _run_folders(settings, client):
        ledger = Ledger(folder)
        if not ledger.path.exists():
            continue
        for entry in ledger.live():
            if entry.holder.owner_alive():
                held.setdefault(folder.run_id, set()).add(entry.undo.component)
                continue
            what = (
                f"{entry.description} (fault {entry.fault_id}, holder pid {entry.holder.pid} gone)"
            )
            if dry_run:
                findings.append(Finding(folder.run_id, what, False))
                # the scan would find the same fault again: it is already on the list
                held.setdefault(folder.run_id, set()).add(entry.undo.component)
                continue
            handle = RunHandle(folder, settings, holder=Lease.for_current_process())
            try:
                revert_entry(handle, entry, by="janitor")
                findings.append(Finding(folder.run_id, what, True))
            except (StormcheckError, docker.errors.DockerException, OSError) as exc:
                findings.append(Finding(folder.run_id, f"{what}: undo failed: {exc}", False))
            finally:
                handle.close()
    return findings, held


# --- 2. the scan by label and state -----------------------------------------------------------


def _declared() -> dict[str, Component]:
    found: dict[str, Component] = {}
    for stack in ("full", "minimal"):
        wanted = tuple(n for n in STACK_COMPONENTS[stack] if n not in found)
        found |= {c.name: c for c in components_for(stack, only=wanted)}
    return found


def _component_name(container: Container, run_id: str) -> str:
    return str(container.name).removeprefix(f"sc-{run_id}-")


def _tagged_rules(container: Container) -> list[list[str]]:
    """The ``-D`` arguments of every rule a fault tagged in the container's namespace."""
    saved = nsenter_iptables(int(container.attrs["State"]["Pid"]), [], save=True)
    rules = []
    for line in saved.stdout.splitlines():
        if line.startswith("-A ") and "stormcheck-fault-" in line:
            rules.append(line[3:].split())
    return rules


def _scan_container(
    container: Container, declared: Component | None, *, dry_run: bool
) -> list[str]:
    """What is wrong with one container, fixed unless ``dry_run``."""
    fixed = []
    state, host = container.attrs["State"], container.attrs["HostConfig"]
    name = str(container.name)
    if state.get("Status") == "paused":
        fixed.append(f"{name}: paused")
        if not dry_run:
            container.unpause()
    if declared is not None:
        want_cpus = round(declared.cpus * 1e9)
        want_memory = declared.memory_mb * 1024 * 1024
        if int(host.get("NanoCpus") or 0) != want_cpus:
            fixed.append(
                f"{name}: CPU limit {int(host.get('NanoCpus') or 0) / 1e9:g}, declared {declared.cpus:g}"
            )
            if not dry_run:
                docker_update(name, f"--cpus={declared.cpus:g}")
        if int(host.get("Memory") or 0) != want_memory:
            fixed.append(
                f"{name}: memory limit {int(host.get('Memory') or 0)}, declared {want_memory}"
            )
            if not dry_run:
                docker_update(name, f"--memory={want_memory}", f"--memory-swap={want_memory}")
    if state.get("Status") == "running":
        rules = _tagged_rules(container)
        if rules:
            fixed.append(f"{name}: {len(rules)} iptables rule(s) of a fault")
            if not dry_run:
                pid = int(state["Pid"])
                for rule in rules:
                    nsenter_iptables(pid, ["-D", *rule])
    return fixed


def _scan_toxiproxy(container: Container, *, dry_run: bool) -> list[str]:
    bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(_TOXIPROXY_API_PORT)
    if container.attrs["State"].get("Status") != "running" or not bindings:
        return []
    fixed = []
    with ToxiproxyClient(f"http://127.0.0.1:{bindings[0]['HostPort']}") as toxiproxy:
        for proxy in toxiproxy.proxies().values():
            for toxic in proxy.toxics:
                fixed.append(f"toxiproxy {proxy.name}: toxic {toxic.name} ({toxic.type})")
                if not dry_run:
                    toxiproxy.remove_toxic(proxy.name, toxic.name)
            if not proxy.enabled:
                fixed.append(f"toxiproxy {proxy.name}: disabled")
                if not dry_run:
                    toxiproxy.enable(proxy.name)
    return fixed


def _scan_fill_files(run_id: str, skip: set[str], *, dry_run: bool) -> list[str]:
    found = []
    for record in disk.fill_files(run_id):
        if record.component in skip:
            continue
        found.append(f"{record.component}: data volume filled ({record.path})")
        if not dry_run:
            disk.free(record)
    return found


def _scan_one(
    client: DockerClient,
    run_id: str,
    name: str,
    skip: set[str],
    declared: dict[str, Component],
    *,
    dry_run: bool,
) -> list[Finding]:
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return []
    component = _component_name(container, run_id)
    if component in skip or (component == "toxiproxy" and "toxiproxy" in skip):
        return []
    try:
        problems = _scan_container(container, declared.get(component), dry_run=dry_run)
        if container.labels.get("stormcheck.role") == "toxiproxy":
            problems += _scan_toxiproxy(container, dry_run=dry_run)
    except (PlatformError, BackendError, docker.errors.DockerException) as exc:
        problems = [f"{name}: could not be checked: {exc}"]
    return [Finding(run_id, p, not dry_run) for p in problems]


def _scan(
    client: DockerClient, held: dict[str, set[str]], *, dry_run: bool, only_run: str | None
) -> list[Finding]:
    findings: list[Finding] = []
    declared = _declared()
    scans = []
    for run in find_run_resources(client):
        if only_run is not None and run.run_id != only_run:
            continue
        skip = held.get(run.run_id, set())
        findings += [
            Finding(run.run_id, p, not dry_run)
            for p in _scan_fill_files(run.run_id, skip, dry_run=dry_run)
        ]
        scans += [(run.run_id, name, skip) for name in run.containers]
    # each container is its own Docker inspect and nsenter: in parallel, the scan of a machine
    # with two full stacks takes a fifth of the time (it runs before every experiment)
    with ThreadPoolExecutor(max_workers=_SCAN_WORKERS) as pool:
        for found in pool.map(
            lambda scan: _scan_one(client, scan[0], scan[1], scan[2], declared, dry_run=dry_run),
            scans,
        ):
            findings += found
    return findings


# --- 3. load generators -----------------------------------------------------------------------


def end_generators(grace_s: float = _GENERATOR_GRACE_S, *, dry_run: bool = False) -> list[int]:
    """End every load generator whose owner is gone (SIGTERM, then SIGKILL); their pids."""
    orphans = orphan_generators()
    if dry_run:
        return orphans
    for pid in orphans:
        log.warning("ending orphaned load generator pid %d", pid)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)

    def ended() -> bool | NotYet:
        left = [p for p in orphans if process_alive(p)]
        return NotYet(str(left)) if left else True

    with contextlib.suppress(TimeoutError):
        poll_until(ended, timeout_s=grace_s, interval_s=0.1, on_timeout=TimeoutError)
    for pid in orphans:
        if process_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for group in stale_cgroups():
        with contextlib.suppress(OSError):
            group.rmdir()
    return orphans


def sweep(
    settings: Settings,
    client: DockerClient,
    *,
    dry_run: bool = False,
    only_run: str | None = None,
) -> list[Finding]:
    """The three sweeps (see the module's documentation); what was found, in order.

    ``only_run`` limits the state scan (2.) to that run's containers: an experiment attached to
    a run is affected by nothing left on another run's containers, and the scan of every
    container on the machine was most of what ``experiment run`` added to a plain ``chaos run``.
    The ledger sweep and the load generators stay machine-wide (they are cheap).
    """
    findings, held = _ledger_sweep(settings, client, dry_run=dry_run)
    findings += _scan(client, held, dry_run=dry_run, only_run=only_run)
    findings += [
        Finding("", f"load generator pid {pid} (its owner is gone)", not dry_run)
        for pid in end_generators(dry_run=dry_run)
    ]
    return findings
