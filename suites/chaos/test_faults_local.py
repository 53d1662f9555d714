"""Every fast fault action on the shared full stack: applied, seen from outside, rolled back, and
nothing left behind (the snapshot diff is empty).

Each test checks the effect the way an operator would — Docker's own view, the Toxiproxy link
answering late or not at all, the ingress no longer reaching a partitioned replica — never the
action's own return value alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import docker
import psycopg
import pytest
import redis
import requests

from stormcheck.chaos.local import actions
from stormcheck.chaos.local.actions import FaultInputError
from stormcheck.testing import FaultBench
from stormcheck.waiting import NotYet, poll_until

pytestmark = pytest.mark.integration

LATENCY_MS = 300
JITTER_MS = 50


def _state(bench: FaultBench, component: str) -> dict[str, object]:
    container = bench.handle.container(component)
    container.reload()
    return dict(container.attrs["State"])


def _ingress_sees(bench: FaultBench, replica: str) -> str:
    stats = bench.handle.manifest().endpoint("ingress", "stats")
    for line in requests.get(stats + "/stats;csv", timeout=5).text.splitlines():
        fields = line.split(",")
        if len(fields) > 17 and fields[0] == "shop" and fields[1] == replica:
            return fields[17].split(" ")[0]  # "UP", "DOWN", or "UP 1/2" while changing
    raise AssertionError(f"the ingress has no server {replica}")


def _eventually(what: str, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    def done() -> bool | NotYet:
        return True if check() else NotYet(what)

    poll_until(done, timeout_s=timeout_s, interval_s=0.25, on_timeout=AssertionError)


def test_kill_picks_a_seeded_share_of_a_role_and_its_rollback_brings_it_back(
    fault_bench: FaultBench,
) -> None:
    done = actions.kill("shop", share=0.34, seed=11, configuration=fault_bench.configuration)
    (victim,) = done["targets"]
    assert done["seed"] == 11 and victim.startswith("shop-")
    assert _state(fault_bench, victim)["Status"] == "exited"
    assert [e.undo.kind for e in fault_bench.handle.ledger.live()] == ["start"]
    actions.undo_kill(configuration=fault_bench.configuration)
    assert _state(fault_bench, victim)["Status"] == "running"
    assert fault_bench.handle.ledger.live() == []
    assert fault_bench.diff() == []
    # the same seed picks the same replica: a run can be replayed
    again = actions.kill("shop", share=0.34, seed=11, configuration=fault_bench.configuration)
    assert again["targets"] == [victim]
    actions.undo_kill(configuration=fault_bench.configuration)
    assert fault_bench.diff() == []


def test_pause_freezes_a_replica_and_unpause_thaws_it(fault_bench: FaultBench) -> None:
    actions.pause("shop-3", configuration=fault_bench.configuration)
    assert _state(fault_bench, "shop-3")["Paused"] is True
    actions.undo_pause(configuration=fault_bench.configuration)
    assert _state(fault_bench, "shop-3")["Paused"] is False
    assert fault_bench.diff() == []


def test_stop_prometheus_and_start_it_ready_again(fault_bench: FaultBench) -> None:
    actions.stop("prometheus", configuration=fault_bench.configuration)
    assert _state(fault_bench, "prometheus")["Status"] == "exited"
    actions.undo_stop(configuration=fault_bench.configuration)
    url = fault_bench.handle.manifest().endpoint("prometheus")
    assert requests.get(url + "/-/ready", timeout=5).status_code == 200
    assert fault_bench.diff() == []


def test_latency_on_the_database_link_is_measured_through_the_link(fault_bench: FaultBench) -> None:
    dsn = fault_bench.handle.manifest().endpoint("toxiproxy", "postgres")
    actions.add_latency(
        "postgres", LATENCY_MS, jitter_ms=JITTER_MS, configuration=fault_bench.configuration
    )
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        started = time.monotonic()
        conn.execute("select 1").fetchone()
        delayed_ms = (time.monotonic() - started) * 1000
    actions.undo_toxics(configuration=fault_bench.configuration)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        started = time.monotonic()
        conn.execute("select 1").fetchone()
        plain_ms = (time.monotonic() - started) * 1000
    assert delayed_ms >= LATENCY_MS - JITTER_MS, (delayed_ms, plain_ms)
    assert plain_ms < LATENCY_MS - JITTER_MS, (delayed_ms, plain_ms)
    assert fault_bench.diff() == []


def test_timeout_reset_and_bandwidth_toxics_on_the_cache_link(fault_bench: FaultBench) -> None:
    url = fault_bench.handle.manifest().endpoint("toxiproxy", "redis")
    key, value = "stormcheck:test:bandwidth", b"x" * 100_000
    redis.Redis.from_url(url).set(key, value)
    try:
        actions.add_timeout("redis", configuration=fault_bench.configuration)
        with pytest.raises(redis.TimeoutError):
            redis.Redis.from_url(url, socket_timeout=1).ping()
        actions.undo_toxics("redis", configuration=fault_bench.configuration)

        actions.reset_peer("redis", configuration=fault_bench.configuration)
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(url, socket_timeout=2).ping()
        actions.undo_toxics(configuration=fault_bench.configuration)

        actions.limit_bandwidth("redis", 50, configuration=fault_bench.configuration)
        client = redis.Redis.from_url(url, socket_timeout=10)
        started = time.monotonic()
        assert client.get(key) == value
        slow_s = time.monotonic() - started
        actions.undo_toxics(configuration=fault_bench.configuration)
        assert slow_s >= 1.5, f"100 kB at 50 kB/s took {slow_s:.2f} s"
        assert redis.Redis.from_url(url, socket_timeout=2).ping()
    finally:
        redis.Redis.from_url(url, socket_timeout=2).delete(key)
    assert fault_bench.diff() == []


def test_a_disabled_link_refuses_connections_until_enabled(fault_bench: FaultBench) -> None:
    dsn = fault_bench.handle.manifest().endpoint("toxiproxy", "postgres")
    actions.disable_link("postgres", configuration=fault_bench.configuration)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=3).close()
    actions.undo_disable_link(configuration=fault_bench.configuration)
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    assert fault_bench.diff() == []


def test_a_partitioned_replica_drops_the_ingress_packets_and_comes_back(
    fault_bench: FaultBench,
) -> None:
    ingress = fault_bench.handle.container("ingress")
    probe = ["bash", "-c", "timeout 2 bash -c 'echo > /dev/tcp/shop-3/8080'"]
    assert ingress.exec_run(probe).exit_code == 0
    actions.partition("shop-3", peers="ingress", configuration=fault_bench.configuration)
    assert ingress.exec_run(probe).exit_code != 0  # the SYN is dropped: the connect times out
    _eventually(
        "the ingress marks shop-3 down", lambda: _ingress_sees(fault_bench, "shop-3") == "DOWN"
    )
    actions.undo_partition(configuration=fault_bench.configuration)
    assert ingress.exec_run(probe).exit_code == 0
    _eventually("the ingress marks shop-3 up", lambda: _ingress_sees(fault_bench, "shop-3") == "UP")
    assert fault_bench.diff() == []


def test_cpu_throttling_sets_the_quota_and_gives_the_declared_one_back(
    fault_bench: FaultBench,
) -> None:
    actions.throttle_cpu("shop-1", cpus=0.02, configuration=fault_bench.configuration)
    container = fault_bench.handle.container("shop-1")
    assert container.attrs["HostConfig"]["NanoCpus"] == 20_000_000
    actions.undo_throttle_cpu(configuration=fault_bench.configuration)
    container.reload()
    assert container.attrs["HostConfig"]["NanoCpus"] == 250_000_000
    assert fault_bench.diff() == []


def test_a_memory_limit_ends_in_a_real_oom_kill_and_the_replica_returns(
    fault_bench: FaultBench,
) -> None:
    actions.limit_memory("shop-2", configuration=fault_bench.configuration)
    state = _state(fault_bench, "shop-2")
    assert state["OOMKilled"] is True and state["ExitCode"] == 137, state
    actions.undo_limit_memory(configuration=fault_bench.configuration)
    assert _state(fault_bench, "shop-2")["Running"] is True
    assert fault_bench.diff() == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda c: actions.kill("mystery", configuration=c),
            r"^target: 'mystery' is neither a component nor a role of run .* \(roles: .*shop.*\)$",
        ),
        (
            lambda c: actions.zone_down("q", configuration=c),
            r"^zone: expected one of a, b, c, got 'q'$",
        ),
        (
            lambda c: actions.partition("shop-9", configuration=c),
            r"^member: expected a component of run .*, got 'shop-9'$",
        ),
        (
            lambda c: actions.partition("shop-1", peers="shop-1", configuration=c),
            r"^peers: expected other components of the run, got \['shop-1'\]$",
        ),
        (
            lambda c: actions.fill_disk("shop-1", configuration=c),
            r"^member: expected a component with a capped data volume \(pg-1, pg-2\), got 'shop-1'$",
        ),
    ],
)
def test_names_the_run_does_not_have_are_refused_and_nothing_changes(
    fault_bench: FaultBench, call: Callable[[dict[str, str]], object], message: str
) -> None:
    with pytest.raises(FaultInputError, match=message):
        call(fault_bench.configuration)
    assert fault_bench.handle.ledger.live() == []
    assert fault_bench.diff() == []


def test_an_action_that_fails_half_way_is_undone_at_once(fault_bench: FaultBench) -> None:
    # `docker pause` of a stopped container fails after the ledger entry was written
    container = fault_bench.handle.container("shop-3")
    container.stop(timeout=5)
    try:
        with pytest.raises(docker.errors.APIError):
            actions.pause("shop-3", configuration=fault_bench.configuration)
        assert fault_bench.handle.ledger.live() == []  # the entry was settled as failed-apply
    finally:
        container.start()
        fault_bench.handle.wait_back_in_role("shop-3")
    assert fault_bench.diff() == []
