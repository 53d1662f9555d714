"""Fault actions on the local platform: verbs that change things, each with its own rollback.

Chaos Toolkit calls them by module path (``provider: {type: python, module:
stormcheck.chaos.local.actions, func: kill}``) and Python calls them directly. Every action:

- finds its run (configuration ``stormcheck_run``, else ``STORMCHECK_RUN``, else the only run up);
- refuses bad input before anything changes, in one line naming the argument and what was
  expected (:class:`FaultInputError`);
- records each fault in the run's ledger *before* changing anything, with its undo and this
  process as holder, then changes it (:func:`~stormcheck.chaos.revert.apply_fault`);
- returns what it did (targets, seed, fault ids) as JSON-ready data for the journal, so that a
  run can be replayed;
- with ``duration_s``, holds the fault that long and undoes it itself; without, the fault stays
  until its rollback (``undo_<action>``), which undoes the live faults of that action this process
  holds, newest first, and is idempotent.

Targets: ``target`` names a component (``shop-2``), a role (``shop``), or the member that holds a
role now (``postgres-primary``: Patroni's leader; ``redis-master``: the Sentinels' master); for a
role, ``share`` of its members (at most that share, at least one) are chosen by a random
generator seeded with ``seed`` (drawn and returned when not given). ``partition`` and
``fill_disk`` take ``postgres-primary`` as ``member`` too.

This module is written without ``from __future__ import annotations`` so that chaoslib's
discovery reads real types, and every parameter is positional-or-keyword (discovery drops
keyword-only ones).
"""

import contextlib
import math
import random
import secrets
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from stormcheck.chaos.context import RunHandle, open_run
from stormcheck.chaos.ledger import new_fault_id
from stormcheck.chaos.local.roles import DYNAMIC_MEMBERS, resolve
from stormcheck.chaos.revert import (
    addresses,
    apply_fault,
    docker_update,
    nsenter_iptables,
    rollback,
)
from stormcheck.chaos.undo import Undo, UndoKind
from stormcheck.clients.toxiproxy import Stream
from stormcheck.errors import ConfigError, PlatformError
from stormcheck.local import disk
from stormcheck.local.volumes import find_capped_volumes
from stormcheck.waiting import NotYet, poll_until

__all__ = [
    "add_latency",
    "add_timeout",
    "disable_link",
    "fill_disk",
    "kill",
    "limit_bandwidth",
    "limit_memory",
    "partition",
    "pause",
    "reset_peer",
    "stop",
    "throttle_cpu",
    "undo_disable_link",
    "undo_fill_disk",
    "undo_kill",
    "undo_limit_memory",
    "undo_partition",
    "undo_pause",
    "undo_stop",
    "undo_throttle_cpu",
    "undo_toxics",
    "undo_zone_down",
    "zone_down",
]

Configuration = Mapping[str, Any] | None
LINKS = ("postgres", "redis")  # the Toxiproxy proxies between the API and its data
_OOM_WAIT_S = 30.0
_TAG = "stormcheck-fault-"
_STREAMS: dict[str, Stream] = {"upstream": "upstream", "downstream": "downstream"}
_TOXIC_ACTIONS = ("add_latency", "add_timeout", "limit_bandwidth", "reset_peer")


class FaultInputError(ConfigError):
    """An action's argument is not what it expects; nothing was changed."""


# --- arguments --------------------------------------------------------------------------------


def _positive(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise FaultInputError(f"{name}: expected a number > 0, got {value!r}")
    return float(value)


def _integer(name: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultInputError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    return value


def _link(link: Any) -> str:
    if link not in LINKS:
        raise FaultInputError(f"link: expected one of {', '.join(LINKS)}, got {link!r}")
    return str(link)


def _names(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise FaultInputError(
        f"{name}: expected component names (a list, or comma-separated), got {value!r}"
    )


def _selection(target: Any, share: Any, seed: Any) -> tuple[str, float, int]:
    """``target``, ``share`` and ``seed`` checked (before anything is looked up or changed)."""
    if not isinstance(target, str) or not target:
        raise FaultInputError(f"target: expected a component or role name, got {target!r}")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise FaultInputError(f"share: expected a number in (0, 1], got {share!r}")
    return (
        target,
        float(share),
        secrets.randbelow(2**31) if seed is None else _integer("seed", seed),
    )


def _targets(handle: RunHandle, target: str, share: float, seed: int) -> tuple[list[str], int]:
    """The components ``target`` names (one component, or ``share`` of a role's members)."""
    manifest = handle.manifest()
    if target in DYNAMIC_MEMBERS:
        return [resolve(handle, target)], seed
    if target in manifest.components:
        return [target], seed
    members = sorted(n for n, r in manifest.components.items() if r.role == target)
    if not members:
        roles = sorted({r.role for r in manifest.components.values()})
        raise FaultInputError(
            f"target: {target!r} is neither a component nor a role of run {manifest.run_id}"
            f" (roles: {', '.join(roles)})"
        )
    return choose(members, share, seed), seed


def choose(members: list[str], share: float, seed: int) -> list[str]:
    """``share`` of ``members`` (at most that share, at least one), chosen with ``seed``: the
    choice every action makes, and what a dry run shows."""
    count = max(1, math.floor(share * len(members) + 1e-9))
    return sorted(random.Random(seed).sample(sorted(members), count))


def _held(duration_s: float | None, undo: Callable[[], object]) -> None:
    """With a duration: hold the fault that long, then undo it (also on Ctrl-C)."""
    if duration_s is None:
        return
    try:
        time.sleep(duration_s)
    finally:
        undo()


def _result(action: str, targets: list[str], faults: list[str], **extra: Any) -> dict[str, Any]:
    return {"action": action, "targets": targets, "fault_ids": faults, **extra}


def _undo(action: str, configuration: Configuration, target: str = "") -> dict[str, Any]:
    handle = open_run(configuration)
    try:
        components = _names(target, "target") if target else []
        manifest = handle.manifest()
        roles = {n: r.role for n, r in manifest.components.items()}
        chosen = [n for n in roles if n in components or roles[n] in components]
        undone = rollback(handle, actions=(action,), components=chosen if components else ())
        return {"action": f"undo_{action}", "undone": [e.fault_id for e in undone]}
    finally:
        handle.close()


# --- containers: kill, pause, stop ------------------------------------------------------------


def _container_fault(
    *,
    action: str,
    target: str,
    share: float,
    seed: int | None,
    duration_s: float | None,
    composes: bool,
    configuration: Configuration,
    change: Callable[[Any], None],
    undo_kind: UndoKind,
) -> dict[str, Any]:
    duration = _positive("duration_s", duration_s, allow_none=True)
    chosen = _selection(target, share, seed)
    handle = open_run(configuration)
    try:
        names, seed = _targets(handle, *chosen)
        faults = []
        for name in names:
            container = handle.container(name)
            fault_id, _ = apply_fault(
                handle,
                action=action,
                description=f"{action} {name}",
                undo=Undo(
                    kind=undo_kind,
                    component=name,
                    params={"container": container.name, "addresses": addresses(container)},
                ),
                change=partial(change, container),
                composes=composes,
            )
            faults.append(fault_id)
        _held(duration, lambda: rollback(handle, actions=(action,)))
        return _result(action, names, faults, seed=seed)
    finally:
        handle.close()


def kill(
    target: str,
    share: float = 1.0,
    seed: int | None = None,
    duration_s: float | None = None,
    composes: bool = False,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """SIGKILL the target's container(s); rollback :func:`undo_kill` starts them and waits
    until each is ready and back in its role (replica, follower)."""
    return _container_fault(
        action="kill",
        target=target,
        share=share,
        seed=seed,
        duration_s=duration_s,
        composes=composes,
        configuration=configuration,
        change=lambda c: c.kill(),
        undo_kind="start",
    )


def undo_kill(target: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Start what :func:`kill` killed (all of it, or the named components/roles)."""
    return _undo("kill", configuration, target)


def pause(
    target: str,
    share: float = 1.0,
    seed: int | None = None,
    duration_s: float | None = None,
    composes: bool = False,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Freeze the target's container(s) (a hung process: connections open, nothing answers)."""
    return _container_fault(
        action="pause",
        target=target,
        share=share,
        seed=seed,
        duration_s=duration_s,
        composes=composes,
        configuration=configuration,
        change=lambda c: c.pause(),
        undo_kind="unpause",
    )


def undo_pause(target: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Unpause what :func:`pause` froze."""
    return _undo("pause", configuration, target)


def stop(
    target: str,
    share: float = 1.0,
    seed: int | None = None,
    duration_s: float | None = None,
    composes: bool = False,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Stop the target's container(s) gracefully (SIGTERM, then SIGKILL after 10 s) — e.g. the
    run's ``prometheus``, ``alertmanager``, ``opensearch`` or ``shipper``."""
    return _container_fault(
        action="stop",
        target=target,
        share=share,
        seed=seed,
        duration_s=duration_s,
        composes=composes,
        configuration=configuration,
        change=lambda c: c.stop(timeout=10),
        undo_kind="start",
    )


def undo_stop(target: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Start what :func:`stop` stopped, and wait until each is ready."""
    return _undo("stop", configuration, target)


# --- zones ------------------------------------------------------------------------------------


def zone_down(
    zone: str,
    mode: str = "kill",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Lose a whole zone: every container of the run labelled ``stormcheck.zone=<zone>``.

    ``mode``: ``kill`` (the zone's machines die) or ``disconnect`` (the zone is cut off from the
    run's network; the rollback connects each member again with the same address, which Redis
    and Sentinel announce).
    """
    duration = _positive("duration_s", duration_s, allow_none=True)
    if mode not in ("kill", "disconnect"):
        raise FaultInputError(f"mode: expected kill or disconnect, got {mode!r}")
    given: object = zone  # YAML may hand over anything
    if not isinstance(given, str) or not given:
        raise FaultInputError(f"zone: expected a zone name, got {zone!r}")
    handle = open_run(configuration)
    try:
        manifest = handle.manifest()
        zones = sorted({r.zone for r in manifest.components.values()})
        if zone not in zones:
            raise FaultInputError(f"zone: expected one of {', '.join(zones)}, got {zone!r}")
        members = sorted(n for n, r in manifest.components.items() if r.zone == zone)
        network = manifest.network or ""
        faults = []
        for name in members:
            container = handle.container(name)
            if mode == "kill":
                undo = Undo(
                    kind="start",
                    component=name,
                    params={"container": container.name, "addresses": addresses(container)},
                )
                change: Callable[[], None] = container.kill
            else:
                address = (container.attrs["NetworkSettings"]["Networks"].get(network) or {}).get(
                    "IPAddress"
                )
                if not address:
                    raise PlatformError(f"{name} has no address on {network}")
                undo = Undo(
                    kind="reconnect",
                    component=name,
                    params={"container": container.name, "network": network, "ip": address},
                )
                net = handle.client.networks.get(network)
                change = partial(net.disconnect, container, force=True)
            fault_id, _ = apply_fault(
                handle,
                action="zone_down",
                description=f"zone {zone} down ({mode}): {name}",
                undo=undo,
                change=change,
            )
            faults.append(fault_id)
        _held(duration, lambda: rollback(handle, actions=("zone_down",)))
        return _result("zone_down", members, faults, zone=zone, mode=mode)
    finally:
        handle.close()


def undo_zone_down(configuration: Configuration = None) -> dict[str, Any]:
    """Bring the lost zone back (start or reconnect every member, then wait for each)."""
    return _undo("zone_down", configuration)


# --- the API's links to its data: Toxiproxy -----------------------------------------------------


def _toxic(
    *,
    action: str,
    link: str,
    toxic_type: str,
    attributes: dict[str, int],
    stream: str,
    duration_s: float | None,
    configuration: Configuration,
) -> dict[str, Any]:
    duration = _positive("duration_s", duration_s, allow_none=True)
    proxy = _link(link)
    direction = _STREAMS.get(stream)
    if direction is None:
        raise FaultInputError(f"stream: expected upstream or downstream, got {stream!r}")
    handle = open_run(configuration)
    try:
        fault_id = new_fault_id()
        name = _TAG + fault_id

        def change() -> None:
            with handle.toxiproxy() as toxiproxy:
                toxiproxy.add_toxic(
                    proxy, toxic_type, stream=direction, attributes=attributes, name=name
                )

        apply_fault(
            handle,
            action=action,
            description=f"{toxic_type} {attributes} on the {proxy} link ({stream})",
            undo=Undo(kind="toxic", component="toxiproxy", params={"proxy": proxy, "toxic": name}),
            change=change,
            fault_id=fault_id,
        )
        _held(duration, lambda: rollback(handle, actions=(action,)))
        return _result(action, [proxy], [fault_id], toxic=toxic_type, attributes=attributes)
    finally:
        handle.close()


def add_latency(
    link: str,
    latency_ms: int,
    jitter_ms: int = 0,
    stream: str = "downstream",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Delay every reply on ``link`` (``postgres`` or ``redis``) by ``latency_ms`` ± ``jitter_ms``."""
    attributes = {
        "latency": _integer("latency_ms", latency_ms, minimum=1),
        "jitter": _integer("jitter_ms", jitter_ms),
    }
    return _toxic(
        action="add_latency",
        link=link,
        toxic_type="latency",
        attributes=attributes,
        stream=stream,
        duration_s=duration_s,
        configuration=configuration,
    )


def add_timeout(
    link: str,
    timeout_ms: int = 0,
    stream: str = "upstream",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Blackhole ``link``: data is swallowed; with ``timeout_ms`` > 0 the connection is closed
    after that long, with 0 it stays open and silent."""
    attributes = {"timeout": _integer("timeout_ms", timeout_ms)}
    return _toxic(
        action="add_timeout",
        link=link,
        toxic_type="timeout",
        attributes=attributes,
        stream=stream,
        duration_s=duration_s,
        configuration=configuration,
    )


def limit_bandwidth(
    link: str,
    rate_kbps: int,
    stream: str = "downstream",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Cap ``link`` at ``rate_kbps`` kilobytes per second."""
    attributes = {"rate": _integer("rate_kbps", rate_kbps, minimum=1)}
    return _toxic(
        action="limit_bandwidth",
        link=link,
        toxic_type="bandwidth",
        attributes=attributes,
        stream=stream,
        duration_s=duration_s,
        configuration=configuration,
    )


def reset_peer(
    link: str,
    timeout_ms: int = 0,
    stream: str = "upstream",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Reset connections on ``link`` (TCP RST) after ``timeout_ms``."""
    attributes = {"timeout": _integer("timeout_ms", timeout_ms)}
    return _toxic(
        action="reset_peer",
        link=link,
        toxic_type="reset_peer",
        attributes=attributes,
        stream=stream,
        duration_s=duration_s,
        configuration=configuration,
    )


def undo_toxics(link: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Remove every toxic this process added (on ``link`` only, when given)."""
    proxy = _link(link) if link else ""
    handle = open_run(configuration)
    try:
        undone = rollback(
            handle,
            actions=_TOXIC_ACTIONS,
            where=lambda e: not proxy or e.undo.params.get("proxy") == proxy,
        )
        return {"action": "undo_toxics", "undone": [e.fault_id for e in undone]}
    finally:
        handle.close()


def disable_link(
    link: str, duration_s: float | None = None, configuration: Configuration = None
) -> dict[str, Any]:
    """Disable the proxy of ``link``: new connections are refused, open ones are closed."""
    duration = _positive("duration_s", duration_s, allow_none=True)
    proxy = _link(link)
    handle = open_run(configuration)
    try:

        def change() -> None:
            with handle.toxiproxy() as toxiproxy:
                toxiproxy.disable(proxy)

        fault_id, _ = apply_fault(
            handle,
            action="disable_link",
            description=f"the {proxy} link disabled (connections refused)",
            undo=Undo(kind="proxy", component="toxiproxy", params={"proxy": proxy}),
            change=change,
        )
        _held(duration, lambda: rollback(handle, actions=("disable_link",)))
        return _result("disable_link", [proxy], [fault_id])
    finally:
        handle.close()


def undo_disable_link(configuration: Configuration = None) -> dict[str, Any]:
    """Enable the links :func:`disable_link` disabled."""
    return _undo("disable_link", configuration)


# --- packets: iptables in a member's network namespace ----------------------------------------


def partition(
    member: str,
    peers: str = "",
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Drop every packet between ``member`` and ``peers`` (comma-separated components), or —
    without peers — between ``member`` and everything but its own loopback (cut off).

    The rules live in the member's network namespace, entered from the host with ``nsenter``,
    and carry the fault's tag as a comment, so the janitor finds them without the ledger.
    """
    duration = _positive("duration_s", duration_s, allow_none=True)
    others = _names(peers, "peers")
    handle = open_run(configuration)
    try:
        manifest = handle.manifest()
        member = resolve(handle, member)
        if member not in manifest.components:
            raise FaultInputError(
                f"member: expected a component of run {manifest.run_id}, got {member!r}"
            )
        unknown = [p for p in others if p not in manifest.components or p == member]
        if unknown:
            raise FaultInputError(f"peers: expected other components of the run, got {unknown}")
        container = handle.container(member)
        if container.status != "running":
            raise FaultInputError(f"member: {member} is {container.status}, not running")
        fault_id = new_fault_id()
        tag = ["-m", "comment", "--comment", _TAG + fault_id, "-j", "DROP"]
        network = manifest.network or ""
        rules: list[list[str]] = []
        for peer in others:
            attrs = handle.container(peer).attrs["NetworkSettings"]["Networks"]
            address = (attrs.get(network) or {}).get("IPAddress")
            if not address:
                raise PlatformError(f"{peer} has no address on {network}")
            rules += [["INPUT", "-s", address, *tag], ["OUTPUT", "-d", address, *tag]]
        if not others:
            rules = [["INPUT", "!", "-i", "lo", *tag], ["OUTPUT", "!", "-o", "lo", *tag]]
        pid = int(container.attrs["State"]["Pid"])

        def change() -> None:
            for rule in rules:
                done = nsenter_iptables(pid, ["-I", *rule])
                if done.returncode != 0:
                    raise PlatformError(f"iptables in {member}: {done.stderr.strip()}")

        apply_fault(
            handle,
            action="partition",
            description=f"{member} cut off from {', '.join(others) or 'everything'}",
            undo=Undo(
                kind="iptables",
                component=member,
                params={"container": container.name, "rules": rules},
            ),
            change=change,
            fault_id=fault_id,
        )
        _held(duration, lambda: rollback(handle, actions=("partition",)))
        return _result("partition", [member], [fault_id], peers=others)
    finally:
        handle.close()


def undo_partition(configuration: Configuration = None) -> dict[str, Any]:
    """Delete the rules :func:`partition` inserted."""
    return _undo("partition", configuration)


# --- resources: CPU and memory ----------------------------------------------------------------


def throttle_cpu(
    target: str,
    cpus: float,
    share: float = 1.0,
    seed: int | None = None,
    duration_s: float | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Starve the target's container(s) of CPU: a quota of ``cpus`` cores (e.g. 0.02)."""
    limit = _positive("cpus", cpus)
    duration = _positive("duration_s", duration_s, allow_none=True)
    chosen = _selection(target, share, seed)
    handle = open_run(configuration)
    try:
        names, seed = _targets(handle, *chosen)
        faults = []
        for name in names:
            container = handle.container(name)
            declared = (container.attrs["HostConfig"].get("NanoCpus") or 0) / 1e9
            if not declared:
                raise PlatformError(f"{name} has no CPU quota to restore")
            fault_id, _ = apply_fault(
                handle,
                action="throttle_cpu",
                description=f"{name} throttled to {limit:g} CPU (from {declared:g})",
                undo=Undo(
                    kind="limits",
                    component=name,
                    params={"container": container.name, "cpus": declared},
                ),
                change=partial(docker_update, str(container.name), f"--cpus={limit:g}"),
            )
            faults.append(fault_id)
        _held(duration, lambda: rollback(handle, actions=("throttle_cpu",)))
        return _result("throttle_cpu", names, faults, seed=seed, cpus=limit)
    finally:
        handle.close()


def undo_throttle_cpu(target: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Give the throttled containers their declared CPU quota back."""
    return _undo("throttle_cpu", configuration, target)


def _memory_usage(container_id: str) -> int | None:
    for path in (
        Path(f"/sys/fs/cgroup/memory/docker/{container_id}/memory.usage_in_bytes"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/memory.current"),
        Path(f"/sys/fs/cgroup/docker/{container_id}/memory.current"),
    ):
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip())
    return None


def limit_memory(
    target: str,
    headroom_mb: int = 16,
    share: float = 1.0,
    seed: int | None = None,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """OOM-kill the target's container(s) for real: its memory limit is lowered to its usage
    plus ``headroom_mb``, its main process made the OOM killer's first choice, and a process
    inside allocates past the limit — the kernel kills the member (exit 137, ``OOMKilled``).
    The rollback restores the declared limit, starts it, and waits until it is ready."""
    headroom = _integer("headroom_mb", headroom_mb, minimum=1)
    chosen = _selection(target, share, seed)
    handle = open_run(configuration)
    try:
        names, seed = _targets(handle, *chosen)
        faults = []
        for name in names:
            container = handle.container(name)
            host = container.attrs["HostConfig"]
            memory, swap = int(host.get("Memory") or 0), int(host.get("MemorySwap") or 0)
            usage = _memory_usage(str(container.id))
            if not memory or usage is None:
                raise PlatformError(f"{name}: no memory limit or usage to work from")
            limit = usage + headroom * 1024 * 1024

            def change(c: Any = container, lim: int = limit) -> None:
                Path(f"/proc/{int(c.attrs['State']['Pid'])}/oom_score_adj").write_text("1000")
                docker_update(str(c.name), f"--memory={lim}", f"--memory-swap={lim}")
                c.exec_run(["sh", "-c", "head -c 4096M /dev/zero | tail"], detach=True)

                def killed() -> bool | NotYet:
                    c.reload()
                    state = c.attrs["State"]
                    return (
                        True
                        if state["OOMKilled"] and not state["Running"]
                        else NotYet(state["Status"])
                    )

                poll_until(
                    killed,
                    timeout_s=_OOM_WAIT_S,
                    interval_s=0.2,
                    on_timeout=lambda s: PlatformError(
                        f"{c.name} not OOM-killed within {_OOM_WAIT_S:g} s ({s})"
                    ),
                )

            declared = (host.get("NanoCpus") or 0) / 1e9
            fault_id, _ = apply_fault(
                handle,
                action="limit_memory",
                description=f"{name} OOM-killed under a {limit // 2**20} MiB limit",
                undo=Undo(
                    kind="limits",
                    component=name,
                    params={
                        "container": container.name,
                        "cpus": declared,
                        "memory": memory,
                        "memory_swap": swap,
                        "start": True,
                        "addresses": addresses(container),
                    },
                ),
                change=change,
            )
            faults.append(fault_id)
        return _result("limit_memory", names, faults, seed=seed)
    finally:
        handle.close()


def undo_limit_memory(target: str = "", configuration: Configuration = None) -> dict[str, Any]:
    """Restore the declared memory limit and start the OOM-killed containers again."""
    return _undo("limit_memory", configuration, target)


# --- disk: a member's capped data volume ------------------------------------------------------


def fill_disk(
    member: str, duration_s: float | None = None, configuration: Configuration = None
) -> dict[str, Any]:
    """Fill ``member``'s capped data volume (a PostgreSQL member's) until the filesystem has no
    space left: its writes fail with ENOSPC. The fill file is written on the member's own
    loop-mounted volume from the host, never on the host's disk; the rollback deletes it."""
    duration = _positive("duration_s", duration_s, allow_none=True)
    handle = open_run(configuration)
    try:
        manifest = handle.manifest()
        member = resolve(handle, member)
        volumes = {v.component for v in find_capped_volumes(manifest.run_id)}
        if member not in volumes:
            raise FaultInputError(
                f"member: expected a component with a capped data volume"
                f" ({', '.join(sorted(volumes)) or 'none in this run'}), got {member!r}"
            )
        filled: list[disk.FillRecord] = []
        fault_id, _ = apply_fault(
            handle,
            action="fill_disk",
            description=f"{member}'s data volume filled",
            undo=Undo(kind="fill", component=member),
            change=lambda: filled.append(disk.fill(manifest.run_id, member)),
        )
        _held(duration, lambda: rollback(handle, actions=("fill_disk",)))
        return _result("fill_disk", [member], [fault_id], filled_bytes=filled[0].bytes)
    finally:
        handle.close()


def undo_fill_disk(configuration: Configuration = None) -> dict[str, Any]:
    """Delete the fill files :func:`fill_disk` wrote."""
    return _undo("fill_disk", configuration)
