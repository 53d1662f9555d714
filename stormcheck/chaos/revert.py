"""Applying a fault through the ledger, and carrying out its undo.

:func:`apply_fault` is the only way an action changes the platform: the ledger entry first
(fsynced), then the change; a change that fails half-way is undone at once. :func:`revert` carries
out one :class:`~stormcheck.chaos.undo.Undo`; :func:`rollback` undoes the live faults this process
holds (an experiment's rollbacks), :func:`revert_entry` one entry (the janitor).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Sequence

import docker.errors

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.ledger import LedgerEntry, new_fault_id, same_holder
from stormcheck.chaos.undo import Undo
from stormcheck.errors import BackendError, PlatformError
from stormcheck.local import disk
from stormcheck.local.ports import is_port_conflict
from stormcheck.timeline import EventKind, now_ms

__all__ = [
    "addresses",
    "apply_fault",
    "docker_update",
    "nsenter_iptables",
    "revert",
    "revert_entry",
    "rollback",
]


def docker_update(container: str, *options: str) -> None:
    """``docker update OPTIONS CONTAINER`` (the SDK's update has no ``--cpus``)."""
    result = subprocess.run(
        ["docker", "update", *options, container],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        raise PlatformError(
            f"docker update {' '.join(options)} {container}: {result.stderr.strip()}"
        )


def nsenter_iptables(
    pid: int, args: Sequence[str], *, save: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``iptables ARGS`` (or ``iptables-save``) in the network namespace of process ``pid``.

    From the host, with ``nsenter``: no sidecar container is needed, and the host's iptables
    reads the same kernel tables a sidecar's would.
    """
    command = ["iptables-save"] if save else ["iptables", "-w", "5", *args]
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _container(handle: RunHandle, undo: Undo) -> docker.models.containers.Container | None:
    name = str(undo.params.get("container") or handle.manifest().container(undo.component))
    try:
        container = handle.client.containers.get(name)
    except docker.errors.NotFound:
        return None  # the run (or the member) is gone: nothing left to undo
    container.reload()
    return container


def addresses(container: docker.models.containers.Container) -> dict[str, str]:
    """The container's address on each network (for an undo that starts it again)."""
    networks = container.attrs["NetworkSettings"].get("Networks") or {}
    return {name: str(v["IPAddress"]) for name, v in networks.items() if v.get("IPAddress")}


def _keep_addresses(
    handle: RunHandle, container: docker.models.containers.Container, undo: Undo
) -> None:
    """Give a stopped container the addresses it had: Docker hands a restarted container any free
    address, so members killed together come back with each other's (Redis and Sentinel announce
    the address they started with)."""
    recorded = undo.params.get("addresses") or {}
    networks = container.attrs["NetworkSettings"].get("Networks") or {}
    for network, address in recorded.items():
        pinned = ((networks.get(network) or {}).get("IPAMConfig") or {}).get("IPv4Address")
        if pinned == address:
            continue
        net = handle.client.networks.get(network)
        if network in networks:
            net.disconnect(container, force=True)
        net.connect(container, ipv4_address=str(address), aliases=[undo.component])


def _start(handle: RunHandle, undo: Undo) -> None:
    container = _container(handle, undo)
    if container is None:
        return
    if container.status == "paused":
        container.unpause()
    elif container.status != "running":
        _keep_addresses(handle, container, undo)
        try:
            container.start()  # on the host ports it was made with (stormcheck.local.ports)
        except docker.errors.APIError as exc:
            if not is_port_conflict(exc):
                raise
            raise PlatformError(
                f"{undo.component}: cannot start container {container.name} again: a host port"
                f" it publishes was taken while it was stopped ({exc.explanation or exc}); stop"
                f" what took it, then `docker start {container.name}`"
            ) from None
    if undo.params.get("wait", True):
        handle.wait_back_in_role(undo.component)


def _unpause(handle: RunHandle, undo: Undo) -> None:
    container = _container(handle, undo)
    if container is not None and container.status == "paused":
        container.unpause()


def _toxic(handle: RunHandle, undo: Undo) -> None:
    proxy, name = str(undo.params["proxy"]), str(undo.params["toxic"])
    with handle.toxiproxy() as toxiproxy:
        present = {t.name for t in toxiproxy.get_proxy(proxy).toxics}
        if name in present:
            toxiproxy.remove_toxic(proxy, name)


def _proxy(handle: RunHandle, undo: Undo) -> None:
    with handle.toxiproxy() as toxiproxy:
        toxiproxy.enable(str(undo.params["proxy"]))


def _iptables(handle: RunHandle, undo: Undo) -> None:
    container = _container(handle, undo)
    if container is None or container.status != "running":
        return  # a stopped container's namespace, and its rules, are gone
    pid = int(container.attrs["State"]["Pid"])
    for rule in undo.params["rules"]:
        # each rule carries its fault's own tag and is inserted once: one delete undoes it, and
        # a delete of a rule that is not there (never applied, or undone already) only fails
        nsenter_iptables(pid, ["-D", *rule])


def _limits(handle: RunHandle, undo: Undo) -> None:
    container = _container(handle, undo)
    if container is None:
        return
    params = undo.params
    options = [f"--cpus={float(params['cpus']):g}"]
    if params.get("memory"):
        options += [
            f"--memory={int(params['memory'])}",
            f"--memory-swap={int(params['memory_swap'])}",
        ]
    docker_update(str(container.name), *options)
    if params.get("start") and container.status != "running":
        _start(handle, undo)


def _reconnect(handle: RunHandle, undo: Undo) -> None:
    container = _container(handle, undo)
    if container is None:
        return
    network = str(undo.params["network"])
    if network not in (container.attrs["NetworkSettings"].get("Networks") or {}):
        handle.client.networks.get(network).connect(
            container, ipv4_address=str(undo.params["ip"]), aliases=[undo.component]
        )
    if undo.params.get("wait", True):
        handle.wait_back_in_role(undo.component)


def _fill(handle: RunHandle, undo: Undo) -> None:
    disk.free_all(handle.folder.run_id, undo.component)


_REVERTS: dict[str, Callable[[RunHandle, Undo], None]] = {
    "start": _start,
    "unpause": _unpause,
    "toxic": _toxic,
    "proxy": _proxy,
    "iptables": _iptables,
    "limits": _limits,
    "reconnect": _reconnect,
    "fill": _fill,
}


def revert(handle: RunHandle, undo: Undo) -> None:
    """Carry out ``undo`` (idempotent; a no-op when the change never happened)."""
    _REVERTS[undo.kind](handle, undo)


def apply_fault[T](
    handle: RunHandle,
    *,
    action: str,
    description: str,
    undo: Undo,
    change: Callable[[], T],
    fault_id: str | None = None,
    composes: bool = False,
) -> tuple[str, T]:
    """Record the fault in the ledger, then apply ``change``; its id and what ``change`` returned.

    A ``change`` that raises is undone at once (the entry is then settled) and the error
    propagates: a failed action leaves nothing behind.
    """
    entry = LedgerEntry(
        fault_id=fault_id or new_fault_id(),
        action=action,
        description=description,
        undo=undo,
        holder=handle.holder,
        composes=composes,
        at_ms=now_ms(),
    )
    handle.ledger.record(entry)
    timeline = handle.folder.timeline
    timeline.record(
        EventKind.FAULT_START,
        action,
        fault_id=entry.fault_id,
        component=undo.component,
        description=description,
    )
    try:
        result = change()
    except BaseException:
        with contextlib.suppress(Exception):
            revert(handle, undo)
            handle.ledger.settle(entry.fault_id, by="failed-apply")
        raise
    return entry.fault_id, result


def revert_entry(handle: RunHandle, entry: LedgerEntry, *, by: str) -> None:
    """Undo one ledger entry and settle it; the timeline says who undid it."""
    revert(handle, entry.undo)
    handle.ledger.settle(entry.fault_id, by=by)
    handle.folder.timeline.record(
        EventKind.FAULT_END,
        entry.action,
        fault_id=entry.fault_id,
        component=entry.undo.component,
        by=by,
    )


def rollback(
    handle: RunHandle,
    *,
    actions: Sequence[str] = (),
    components: Sequence[str] = (),
    where: Callable[[LedgerEntry], bool] = lambda _entry: True,
    by: str = "rollback",
) -> list[LedgerEntry]:
    """Undo, newest first, the live faults this process holds (those of ``actions`` / on
    ``components`` when given); the entries undone.

    Every entry is tried even when one fails; the first failure is raised at the end, so one
    stuck undo never leaves the others in place.
    """
    chosen = [
        e
        for e in handle.ledger.live()
        if same_holder(e.holder, handle.holder)
        and (not actions or e.action in actions)
        and (not components or e.undo.component in components)
        and where(e)
    ]
    failures: list[BaseException] = []
    for entry in reversed(chosen):
        try:
            revert_entry(handle, entry, by=by)
        except (PlatformError, BackendError, docker.errors.DockerException, OSError) as exc:
            failures.append(exc)
    if failures:
        raise PlatformError(
            f"{len(failures)} of {len(chosen)} undo(s) failed; first: {failures[0]}"
        ) from failures[0]
    return chosen
