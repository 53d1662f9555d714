"""The state of a run that faults change, taken before and compared after.

A :class:`Snapshot` holds, typed: every container of the run (state, CPU and memory limits,
network attachments and addresses), a digest of the iptables rules in each running container's
network namespace (read from the host with ``nsenter``, not ``docker exec``) and any rule a fault
tagged, Toxiproxy's proxies and toxics, the fill files on capped data volumes, the Patroni and
Sentinel roles (compared as a multiset: which member leads may change, how many lead may not),
and load generators whose owner is gone. Published host ports change on every restart and are not
part of it; nor is the address of a container that was restarted (Docker assigns a new one, as a
replaced instance gets one) — the networks it is attached to are. :func:`diff` explains every difference in one line.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import docker.errors
import httpx

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.revert import nsenter_iptables
from stormcheck.errors import BackendError
from stormcheck.load.ownership import orphan_generators
from stormcheck.local import disk
from stormcheck.local.platform import RUN_LABEL

__all__ = [
    "SETTLE_S",
    "ContainerState",
    "NetnsRules",
    "ProxyState",
    "Snapshot",
    "diff",
    "settled",
    "take",
]

_FAULT_TAG = re.compile(r"stormcheck-fault-[0-9a-f]+")
_DOCKER_DNS = re.compile(r"DOCKER_OUTPUT|DOCKER_POSTROUTING")
_COUNTERS = re.compile(r"\[\d+:\d+\]")
# Patroni versions name a healthy replica "running" or "streaming": the same state here
_STATES = {"streaming": "running"}
SETTLE_S = 30.0  # how long the platform may take to be as it was (a member rejoining)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerState:
    """One container of the run, as far as a fault can change it."""

    name: str
    status: str  # running, paused, exited, ...
    oom_killed: bool
    nano_cpus: int
    memory: int
    memory_swap: int
    networks: tuple[tuple[str, str], ...]  # (network, address)
    started_at: str = ""  # when its process last started (a restart gets a new address)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetnsRules:
    """The iptables rules of one running container's network namespace."""

    container: str
    digest: str  # of iptables-save without comments and counters
    fault_tags: tuple[str, ...]  # rules a fault tagged


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyState:
    """One Toxiproxy proxy: enabled or not, and its toxics."""

    name: str
    enabled: bool
    toxics: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What faults change in one run (see the module's documentation)."""

    run_id: str
    containers: tuple[ContainerState, ...]
    iptables: tuple[NetnsRules, ...]
    proxies: tuple[ProxyState, ...]
    fill_files: tuple[str, ...]
    patroni_roles: tuple[str, ...]  # sorted "role/state" of every member that answered
    redis_roles: tuple[str, ...]  # sorted role of every Redis node that answered
    orphan_generators: tuple[int, ...]


def _containers(handle: RunHandle) -> list[docker.models.containers.Container]:
    flt = {"label": f"{RUN_LABEL}={handle.folder.run_id}"}
    return sorted(handle.client.containers.list(all=True, filters=flt), key=lambda c: str(c.name))


def _container_state(container: docker.models.containers.Container) -> ContainerState:
    state, host = container.attrs["State"], container.attrs["HostConfig"]
    networks = container.attrs["NetworkSettings"].get("Networks") or {}
    return ContainerState(
        name=str(container.name),
        status=str(state.get("Status")),
        oom_killed=bool(state.get("OOMKilled")),
        nano_cpus=int(host.get("NanoCpus") or 0),
        memory=int(host.get("Memory") or 0),
        memory_swap=int(host.get("MemorySwap") or 0),
        networks=tuple(sorted((n, str(v.get("IPAddress") or "")) for n, v in networks.items())),
        started_at=str(state.get("StartedAt") or ""),
    )


def _netns_rules(container: docker.models.containers.Container) -> NetnsRules | None:
    if container.attrs["State"].get("Status") != "running":
        return None
    saved = nsenter_iptables(int(container.attrs["State"]["Pid"]), [], save=True)
    if saved.returncode != 0:
        return NetnsRules(container=str(container.name), digest="unreadable", fault_tags=())
    # Rules only, in order; not Docker's own DNS rules (their port is new at every start), nor
    # an empty table that a fault's first rule created and its undo left behind.
    lines = [
        _COUNTERS.sub("", line)
        for line in saved.stdout.splitlines()
        if line.startswith("-A ") and not _DOCKER_DNS.search(line)
    ]
    text = "\n".join(lines)
    return NetnsRules(
        container=str(container.name),
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
        fault_tags=tuple(sorted(set(_FAULT_TAG.findall(text)))),
    )


def _proxies(handle: RunHandle) -> tuple[ProxyState, ...]:
    if "toxiproxy" not in handle.manifest().components:
        return ()
    try:
        with handle.toxiproxy() as toxiproxy:
            proxies = toxiproxy.proxies()
    except BackendError:
        return (ProxyState(name="(toxiproxy unreachable)", enabled=False, toxics=()),)
    return tuple(
        ProxyState(name=p.name, enabled=p.enabled, toxics=tuple(sorted(t.name for t in p.toxics)))
        for p in sorted(proxies.values(), key=lambda p: p.name)
    )


def _patroni_roles(handle: RunHandle) -> tuple[str, ...]:
    manifest = handle.manifest()
    for name, record in manifest.components.items():
        if record.role != "patroni":
            continue
        try:
            members = httpx.get(manifest.endpoint(name, "patroni") + "/cluster", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            continue
        return tuple(
            sorted(
                f"{m.get('role')}/{_STATES.get(str(m.get('state')), m.get('state'))}"
                for m in members.get("members", [])
            )
        )
    return ()


def _redis_roles(handle: RunHandle) -> tuple[str, ...]:
    import redis

    manifest = handle.manifest()
    roles = []
    for name, record in manifest.components.items():
        if record.role not in ("redis-node", "redis"):
            continue
        try:
            info = redis.Redis.from_url(manifest.endpoint(name, "redis"), socket_timeout=2).info(
                "replication"
            )
        except redis.RedisError:
            roles.append("unreachable")
            continue
        roles.append(str(info.get("role")))
    return tuple(sorted(roles))


def _fill_files(handle: RunHandle) -> tuple[str, ...]:
    return tuple(sorted(str(r.path) for r in disk.fill_files(handle.folder.run_id)))


def take(handle: RunHandle) -> Snapshot:
    """The run's state now (each container's namespace and each service read in parallel)."""
    containers = _containers(handle)
    with ThreadPoolExecutor(max_workers=8) as pool:
        proxies = pool.submit(_proxies, handle)
        patroni = pool.submit(_patroni_roles, handle)
        redis_roles = pool.submit(_redis_roles, handle)
        rules = [r for r in pool.map(_netns_rules, containers) if r is not None]
        return Snapshot(
            run_id=handle.folder.run_id,
            containers=tuple(_container_state(c) for c in containers),
            iptables=tuple(rules),
            proxies=proxies.result(),
            fill_files=_fill_files(handle),
            patroni_roles=patroni.result(),
            redis_roles=redis_roles.result(),
            orphan_generators=tuple(sorted(orphan_generators())),
        )


def _by_name[T](items: tuple[T, ...], key: Callable[[T], str]) -> dict[str, T]:
    return {key(item): item for item in items}


def diff(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per difference between two snapshots of a run (empty: nothing changed)."""
    lines: list[str] = []
    old = _by_name(before.containers, lambda c: c.name)
    new = _by_name(after.containers, lambda c: c.name)
    for name in sorted(old.keys() - new.keys()):
        lines.append(f"container {name}: gone")
    for name in sorted(new.keys() - old.keys()):
        lines.append(f"container {name}: new ({new[name].status})")
    for name in sorted(old.keys() & new.keys()):
        a, b = old[name], new[name]
        for item in fields(ContainerState):
            if item.name in ("name", "oom_killed", "started_at"):
                continue
            if item.name == "networks" and a.started_at != b.started_at:
                # Docker gives a restarted container a new address, as a replaced instance gets
                # one: only the networks it is attached to must be the same
                if [n for n, _ in a.networks] != [n for n, _ in b.networks]:
                    lines.append(f"container {name}: networks {a.networks!r} -> {b.networks!r}")
                continue
            if getattr(a, item.name) != getattr(b, item.name):
                lines.append(
                    f"container {name}: {item.name} {getattr(a, item.name)!r} -> {getattr(b, item.name)!r}"
                )
    old_rules = _by_name(before.iptables, lambda r: r.container)
    for rules in after.iptables:
        if rules.fault_tags:
            lines.append(
                f"iptables in {rules.container}: fault rules left {', '.join(rules.fault_tags)}"
            )
        was = old_rules.get(rules.container)
        if was is not None and was.digest != rules.digest and not rules.fault_tags:
            lines.append(
                f"iptables in {rules.container}: rules changed ({was.digest} -> {rules.digest})"
            )
    old_proxies = _by_name(before.proxies, lambda p: p.name)
    for proxy in after.proxies:
        was_proxy = old_proxies.get(proxy.name)
        if was_proxy is None:
            lines.append(f"toxiproxy {proxy.name}: new proxy")
            continue
        if was_proxy.enabled != proxy.enabled:
            lines.append(f"toxiproxy {proxy.name}: enabled {was_proxy.enabled} -> {proxy.enabled}")
        added = sorted(set(proxy.toxics) - set(was_proxy.toxics))
        if added:
            lines.append(f"toxiproxy {proxy.name}: toxics left {', '.join(added)}")
    for path in sorted(set(after.fill_files) - set(before.fill_files)):
        lines.append(f"fill file left: {path}")
    if before.patroni_roles != after.patroni_roles:
        lines.append(f"patroni roles {list(before.patroni_roles)} -> {list(after.patroni_roles)}")
    if before.redis_roles != after.redis_roles:
        lines.append(f"redis roles {list(before.redis_roles)} -> {list(after.redis_roles)}")
    for pid in sorted(set(after.orphan_generators) - set(before.orphan_generators)):
        lines.append(f"load generator pid {pid} left without its owner")
    return lines


def settled(handle: RunHandle, before: Snapshot, settle_s: float = SETTLE_S) -> list[str]:
    """The difference from ``before`` once the platform settled: taken again every 2 s until
    empty or ``settle_s`` passed (a rejoined member is named sync standby or replica only after
    Patroni's next loop). Returns the last difference; empty means nothing was left behind."""
    deadline = time.monotonic() + settle_s
    while True:
        lines = diff(before, take(handle))
        if not lines or time.monotonic() >= deadline:
            return lines
        time.sleep(2.0)
