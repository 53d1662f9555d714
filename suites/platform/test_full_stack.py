"""The full local stack (design §3): up healthy in three zones, one failover of each kind, down clean.

The tests share the session's full stack (``full_platform``, the one stack of tier 1). A test that
kills or pauses members leaves them to the ``full_stack`` fixture, which restores after every test
of the module: whatever the test did (or failed half-way through), every member runs again, the run
file's endpoints follow the restarted ones, and the stack is healthy before the next test starts.
That the full stack goes down clean is checked on a stack of its own, in the nightly tier.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest
import redis
import requests
from docker import DockerClient

from stormcheck.local.network_client import burst_from_network
from stormcheck.local.platform import component_health, refresh_endpoints
from stormcheck.local.session import bring_down, bring_up
from stormcheck.local.stacks import STACK_COMPONENTS, components_for, in_role
from stormcheck.runs import Manifest, RunFolder
from stormcheck.settings import Settings
from stormcheck.testing import PlatformRun
from suites.platform.ha import (
    PATRONI_MEMBERS,
    REDIS_NODES,
    WriterProbe,
    backend_status,
    cart_write,
    container_ip,
    current_endpoint,
    order_write,
    patroni_role,
    poll_until,
    redis_master_ip,
    redis_role,
)

POSTGRES_WRITES_BACK_S = 30.0
REJOIN_S = 60.0
CART_WRITES_BACK_S = 15.0
# 16 clients x 40 requests from one address inside the run's network: well above the
# ingress's 200 requests/s per client
SPIKE_CLIENTS = 16


RESTORE_S = 90.0


@pytest.fixture
def full_stack(full_platform: PlatformRun, docker_client: DockerClient) -> Iterator[RunFolder]:
    """The session's full stack; after the test, every member running, endpoints current, healthy."""
    yield full_platform.folder
    _restore(full_platform.folder, docker_client)


def _restore(full_stack: RunFolder, docker_client: DockerClient) -> None:
    manifest = full_stack.read_manifest()
    for record in manifest.components.values():
        container = docker_client.containers.get(record.container)
        if container.status == "paused":
            container.unpause()
        elif container.status != "running":
            container.start()
    checks = {c.name: in_role(c) for c in components_for("full", only=tuple(manifest.components))}
    refresh_endpoints(docker_client, full_stack, manifest, checks)
    deadline = time.monotonic() + RESTORE_S
    unhealthy = [h for h in component_health(docker_client, manifest, checks) if not h.healthy]
    while unhealthy and time.monotonic() < deadline:
        time.sleep(1.0)
        refresh_endpoints(docker_client, full_stack, manifest, checks)
        unhealthy = [h for h in component_health(docker_client, manifest, checks) if not h.healthy]
    assert not unhealthy, f"the shared full stack did not recover in {RESTORE_S:g} s: {unhealthy}"


def _labelled(client: DockerClient, run_id: str) -> list[str]:
    flt = {"label": f"stormcheck.run={run_id}"}
    return [
        *(str(c.name) for c in client.containers.list(all=True, filters=flt)),
        *(str(n.name) for n in client.networks.list(filters=flt)),
        *(str(v.name) for v in client.volumes.list(filters=flt)),
    ]


def _primary(client: DockerClient, manifest: Manifest) -> str:
    roles = {m: patroni_role(client, manifest, m) for m in PATRONI_MEMBERS}
    primaries = [m for m, role in roles.items() if role == "primary"]
    assert len(primaries) == 1, f"want exactly one Patroni primary, roles: {roles}"
    return primaries[0]


@pytest.mark.integration
def test_every_component_is_healthy_and_labelled_with_its_zone(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    manifest = full_stack.read_manifest()
    assert set(manifest.components) == set(STACK_COMPONENTS["full"])
    checks = {c.name: in_role(c) for c in components_for("full")}
    unhealthy = [h for h in component_health(docker_client, manifest, checks) if not h.healthy]
    assert not unhealthy, f"unhealthy: {unhealthy}"

    zones: dict[str, set[str]] = {}
    for name, info in manifest.components.items():
        labels = docker_client.containers.get(info.container).labels
        assert labels["stormcheck.run"] == manifest.run_id, name
        assert labels["stormcheck.zone"] == info.zone in ("a", "b", "c"), (name, labels)
        zones.setdefault(labels["stormcheck.role"], set()).add(labels["stormcheck.zone"])
    for role in ("etcd", "shop", "sentinel"):
        assert zones[role] == {"a", "b", "c"}, f"{role} is not in every zone: {zones[role]}"
    assert zones["patroni"] == {"a", "b"} and zones["redis-node"] == {"a", "b"}, zones

    api = manifest.endpoint("ingress", "api")
    assert order_write(api) == "201"
    assert cart_write(api, "zones", 1) == "200"


@pytest.mark.integration
def test_postgres_primary_killed_writes_resume_and_it_rejoins_as_replica(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    manifest = full_stack.read_manifest()
    api = manifest.endpoint("ingress", "api")
    old = _primary(docker_client, manifest)
    probe = WriterProbe()
    assert probe.sample(docker_client, manifest) == {old}, probe.rounds

    stop = threading.Event()

    def keep_probing() -> None:
        while not stop.is_set():
            probe.sample(docker_client, manifest)
            time.sleep(0.1)

    prober = threading.Thread(target=keep_probing, daemon=True)
    prober.start()
    try:
        docker_client.containers.get(manifest.container(old)).kill()
        resumed_s, outcomes = poll_until(
            lambda: order_write(api), "201", timeout_s=POSTGRES_WRITES_BACK_S
        )
        assert resumed_s is not None, (
            f"no checkout succeeded within {POSTGRES_WRITES_BACK_S} s of killing {old}: {outcomes}"
        )
        new = _primary(docker_client, manifest)
        assert new != old

        docker_client.containers.get(manifest.container(old)).start()
        rejoined_s, roles = poll_until(
            lambda: str(patroni_role(docker_client, manifest, old)), "replica", timeout_s=REJOIN_S
        )
        assert rejoined_s is not None, f"{old} did not rejoin as a replica in {REJOIN_S} s: {roles}"
    finally:
        stop.set()
        prober.join(timeout=10)
    assert probe.split_brain() == [], f"two members accepted writes at once: {probe.split_brain()}"
    routed_to_two = [r for r in probe.routed if sum(v.startswith("UP") for v in r.values()) > 1]
    assert routed_to_two == [], f"the router sent connections to two members: {routed_to_two}"
    assert any(found == {new} for _, found in probe.rounds), "the new primary never took writes"
    assert _primary(docker_client, manifest) == new
    print(f"postgres failover: writes back after {resumed_s:.1f} s ({outcomes}), {old} rejoined")


@pytest.mark.integration
def test_redis_master_killed_cart_writes_resume_and_the_restarted_one_takes_no_write(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    manifest = full_stack.read_manifest()
    api = manifest.endpoint("ingress", "api")
    sentinel = manifest.endpoint("sentinel-1", "sentinel")
    master_ip = redis_master_ip(sentinel)
    ips = {n: container_ip(docker_client, manifest, n) for n in REDIS_NODES}
    (old,) = [n for n, ip in ips.items() if ip == master_ip]
    shops = {
        n: docker_client.containers.get(manifest.container(n)).attrs["State"]
        for n in ("shop-1", "shop-2", "shop-3")
    }
    assert cart_write(api, "failover", 1) == "200"

    docker_client.containers.get(manifest.container(old)).kill()
    resumed_s, outcomes = poll_until(
        lambda: cart_write(api, "failover", 2), "200", timeout_s=CART_WRITES_BACK_S
    )
    assert resumed_s is not None, (
        f"no cart write succeeded within {CART_WRITES_BACK_S} s of killing {old}: {outcomes}"
    )
    for name, before in shops.items():
        after = docker_client.containers.get(manifest.container(name)).attrs["State"]
        assert after["StartedAt"] == before["StartedAt"] and after["Running"], f"{name} restarted"
    # The Sentinel we ask may learn of the promotion a moment after the others made it.
    deadline = time.monotonic() + 10
    new_ip = redis_master_ip(sentinel)
    while new_ip == master_ip and time.monotonic() < deadline:
        time.sleep(0.2)
        new_ip = redis_master_ip(sentinel)
    assert new_ip != master_ip, f"sentinel-1 still names {old} ({master_ip}) as the master"

    docker_client.containers.get(manifest.container(old)).start()
    stats = manifest.endpoint("dbproxy", "stats")
    seen: list[dict[str, object]] = []
    routed: list[dict[str, str]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        routed.append(backend_status(stats, "redis"))
        info = redis_role(current_endpoint(docker_client, manifest, old, "redis", 6379))
        if info:
            seen.append(info)
            if info.get("master_link_status") == "up":
                break
        time.sleep(0.1)
    assert seen, f"{old} never answered after its restart"
    assert all(i.get("role") == "slave" for i in seen), f"{old} answered as a master: {seen}"
    assert seen[-1].get("master_host") == new_ip, seen[-1]
    routed.append(backend_status(stats, "redis"))
    assert all(r.get(old) == "DOWN" for r in routed), f"the router sent writes to {old}: {routed}"

    url = current_endpoint(docker_client, manifest, old, "redis", 6379)
    assert url is not None
    with pytest.raises(redis.ReadOnlyError):
        redis.Redis.from_url(url, socket_timeout=2).set("stormcheck:probe", "1")
    # the shop's Redis connections were cut while the old master came back: writes go on, at
    # once or within the same bound as after the failover itself
    back_s, after = poll_until(
        lambda: cart_write(api, "failover", 3), "200", timeout_s=CART_WRITES_BACK_S
    )
    assert back_s is not None, f"cart writes stopped after {old} rejoined: {after}"
    assert redis_master_ip(sentinel) == new_ip
    print(f"redis failover: cart writes back after {resumed_s:.1f} s ({outcomes})")


@pytest.mark.integration
def test_a_spike_above_the_rate_limit_gets_429s_from_the_ingress_and_no_5xx(
    full_stack: RunFolder, docker_client: DockerClient
) -> None:
    # From inside the run's network: the host (the load generator) is exempt from the limit.
    manifest = full_stack.read_manifest()
    stats = manifest.endpoint("ingress", "stats")
    denied_before = _denied_requests(stats)
    spike = burst_from_network(
        docker_client, manifest, "http://ingress:8080/health", clients=SPIKE_CLIENTS
    )
    codes = spike.codes
    assert codes[429] > 0, f"no 429 in a spike of {codes.total()} requests: {codes}"
    assert not [c for c in codes if c >= 500], f"the spike got 5xx: {codes}"
    assert set(codes) <= {200, 429}, codes
    denied = _denied_requests(stats) - denied_before
    assert denied == codes[429], f"ingress counted {denied} denied requests, clients saw {codes}"


def _denied_requests(stats_url: str) -> int:
    text = requests.get(stats_url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('haproxy_frontend_requests_denied_total{proxy="shop"}'):
            return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError("haproxy_frontend_requests_denied_total for shop not exported")


@pytest.mark.slow
def test_down_removes_everything_the_full_stack_created(
    settings: Settings, docker_client: DockerClient
) -> None:
    full = dataclasses.replace(settings, stack="full")
    folder, _ = bring_up(full, owner="process")
    try:
        run_id = folder.run_id
        assert _labelled(docker_client, run_id)
    finally:
        bring_down(full, folder)
    assert _labelled(docker_client, run_id) == []
    assert folder.read_manifest().state == "down"
    assert not folder.credentials_path.exists()
