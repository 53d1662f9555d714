"""The fault activities as Chaos Toolkit sees them, the ledger, and input refused before any change."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from chaoslib.discovery.discover import discover_activities

from stormcheck.chaos.ledger import FaultConflictError, Ledger, LedgerEntry
from stormcheck.chaos.local import actions, probes, traffic
from stormcheck.chaos.local.actions import FaultInputError
from stormcheck.chaos.snapshot import ContainerState, NetnsRules, ProxyState, Snapshot, diff
from stormcheck.chaos.undo import Undo
from stormcheck.errors import ConfigError
from stormcheck.runs import Lease, RunFolder
from suites.chaos.leases import dead_lease

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("module", "kind"), [(actions, "action"), (probes, "probe"), (traffic, "action")]
)
def test_chaoslib_discovers_every_activity_with_its_arguments(module: Any, kind: str) -> None:
    found = {a["name"]: a for a in discover_activities(module.__name__, kind)}
    assert set(found) == set(module.__all__)
    for name in module.__all__:
        signature = inspect.signature(getattr(module, name))
        listed = [a["name"] for a in found[name]["arguments"]]
        assert listed == list(signature.parameters), name  # none is keyword-only, none dropped
        assert found[name]["doc"], f"{name} has no documentation"
    if module is actions:  # real types, not the strings of postponed annotations
        types = {a["name"]: a.get("type") for a in found["add_latency"]["arguments"]}
        assert types["link"] == "string" and types["latency_ms"] == "integer", types


def test_every_action_has_its_own_rollback() -> None:
    names = set(actions.__all__)
    for name in names - {n for n in names if n.startswith("undo_")}:
        rollback = "undo_toxics" if name in actions._TOXIC_ACTIONS else f"undo_{name}"
        assert rollback in names, f"{name} has no {rollback}"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: actions.kill("shop", share=0), r"^share: expected a number in \(0, 1\], got 0$"),
        (
            lambda: actions.kill("shop", share=1.5),
            r"^share: expected a number in \(0, 1\], got 1.5$",
        ),
        (
            lambda: actions.pause("shop", duration_s=-1),
            r"^duration_s: expected a number > 0, got -1$",
        ),
        (lambda: actions.stop("shop", duration_s=0), r"^duration_s: expected a number > 0, got 0$"),
        (lambda: actions.kill("", share=1), r"^target: expected a component or role name, got ''$"),
        (lambda: actions.kill("shop", seed=-3), r"^seed: expected a whole number >= 0, got -3$"),
        (
            lambda: actions.add_latency("mysql", 300),
            r"^link: expected one of postgres, redis, got 'mysql'$",
        ),
        (
            lambda: actions.add_latency("postgres", cast(Any, "300")),
            r"^latency_ms: expected a whole number >= 1, got '300'$",
        ),
        (
            lambda: actions.add_latency("postgres", 300, jitter_ms=cast(Any, 1.5)),
            r"^jitter_ms: expected a whole number >= 0, got 1.5$",
        ),
        (
            lambda: actions.add_latency("postgres", 300, stream="sideways"),
            r"^stream: expected upstream or downstream, got 'sideways'$",
        ),
        (
            lambda: actions.limit_bandwidth("redis", 0),
            r"^rate_kbps: expected a whole number >= 1, got 0$",
        ),
        (
            lambda: actions.add_timeout("redis", timeout_ms=True),
            r"^timeout_ms: expected a whole number >= 0, got True$",
        ),
        (lambda: actions.throttle_cpu("shop", cpus=0), r"^cpus: expected a number > 0, got 0$"),
        (
            lambda: actions.limit_memory("shop", headroom_mb=0),
            r"^headroom_mb: expected a whole number >= 1, got 0$",
        ),
        (
            lambda: actions.zone_down("b", mode="explode"),
            r"^mode: expected kill or disconnect, got 'explode'$",
        ),
        (
            lambda: actions.partition("pg-1", peers=cast(Any, 3)),
            r"^peers: expected component names .* got 3$",
        ),
        (
            lambda: actions.disable_link("kafka"),
            r"^link: expected one of postgres, redis, got 'kafka'$",
        ),
    ],
)
def test_bad_input_is_refused_in_one_line_before_any_run_is_looked_up(
    call: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))  # no run there: nothing to change
    with pytest.raises(FaultInputError, match=message) as refused:
        call()
    assert "\n" not in str(refused.value)
    assert isinstance(refused.value, ConfigError)


def _entry(fault_id: str, holder: Lease, *, composes: bool = False) -> LedgerEntry:
    return LedgerEntry(
        fault_id=fault_id,
        action="pause",
        description=f"pause shop-{fault_id}",
        undo=Undo(kind="unpause", component=f"shop-{fault_id}"),
        holder=holder,
        composes=composes,
        at_ms=1,
    )


def test_the_ledger_keeps_live_faults_until_settled_and_survives_a_torn_line(
    tmp_path: Path,
) -> None:
    ledger = Ledger(RunFolder(tmp_path / "r1").create())
    me = Lease.for_current_process()
    ledger.record(_entry("1", me))
    ledger.record(_entry("2", me))
    with ledger.path.open("a") as torn:
        torn.write('{"op": "apply", "fault_id": "3", "acti')  # a crash mid-write
    ledger.settle("1", by="rollback")
    assert [e.fault_id for e in ledger.live()] == ["2"]
    raw = ledger.path.read_text().splitlines()
    assert len(raw) == 4 and raw[2].endswith('"acti')  # the settle started a line of its own
    lines = [json.loads(line) for i, line in enumerate(raw) if i != 2]
    assert [line["op"] for line in lines] == ["apply", "apply", "settle"]
    assert lines[0]["holder"]["pid"] == me.pid and lines[0]["undo"]["kind"] == "unpause"


def test_a_second_holder_is_refused_while_a_fault_is_live_unless_both_compose(
    tmp_path: Path,
) -> None:
    ledger = Ledger(RunFolder(tmp_path / "r1").create())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = Lease.for_current_process()
        theirs = Lease(
            kind="process",
            pid=other.pid,
            pid_start=Lease.for_current_process().pid_start,
            boot_id=live.boot_id,
            host=live.host,
            heartbeat_ms=0,
        )
        theirs = Lease(
            kind="process",
            pid=other.pid,
            pid_start=None,
            boot_id=live.boot_id,
            host=live.host,
            heartbeat_ms=0,
        )
        ledger.record(_entry("1", theirs, composes=True))
        with pytest.raises(
            FaultConflictError,
            match=r"fault 1 .* held by pid \d+ \(alive\); faults on one run are serialised",
        ):
            ledger.record(_entry("2", live))
        ledger.record(_entry("3", live, composes=True))  # both compose
        assert [e.fault_id for e in ledger.live()] == ["1", "3"]
    finally:
        other.kill()
        other.wait()


def test_a_dead_holders_fault_blocks_until_the_janitor_reverts_it(tmp_path: Path) -> None:
    ledger = Ledger(RunFolder(tmp_path / "r1").create())
    ledger.record(_entry("1", dead_lease()))
    with pytest.raises(FaultConflictError, match=r"gone: run `stormcheck janitor`"):
        ledger.record(_entry("2", Lease.for_current_process()))


def _snapshot(**changes: Any) -> Snapshot:
    base = {
        "run_id": "r1",
        "containers": (
            ContainerState(
                name="sc-r1-shop-1",
                status="running",
                oom_killed=False,
                nano_cpus=250_000_000,
                memory=268_435_456,
                memory_swap=536_870_912,
                networks=(("net", "10.213.0.5"),),
            ),
        ),
        "iptables": (NetnsRules(container="sc-r1-shop-1", digest="aa", fault_tags=()),),
        "proxies": (ProxyState(name="postgres", enabled=True, toxics=()),),
        "fill_files": (),
        "patroni_roles": ("leader/running", "replica/running"),
        "redis_roles": ("master", "slave"),
        "orphan_generators": (),
    }
    return Snapshot(**{**base, **changes})


def test_diff_explains_each_difference_in_one_line_and_ignores_what_may_move() -> None:
    before = _snapshot()
    assert diff(before, _snapshot()) == []
    changed = _snapshot(
        containers=(
            ContainerState(
                name="sc-r1-shop-1",
                status="paused",
                oom_killed=True,
                nano_cpus=20_000_000,
                memory=268_435_456,
                memory_swap=536_870_912,
                networks=(),
            ),
        ),
        iptables=(
            NetnsRules(container="sc-r1-shop-1", digest="bb", fault_tags=("stormcheck-fault-1a",)),
        ),
        proxies=(ProxyState(name="postgres", enabled=False, toxics=("stormcheck-fault-2b",)),),
        fill_files=("/var/lib/stormcheck/volumes/r1/pg-1/fill",),
        patroni_roles=("leader/running", "replica/stopped"),
        redis_roles=("master", "master"),
        orphan_generators=(4242,),
    )
    lines = diff(before, changed)
    assert lines == [
        "container sc-r1-shop-1: status 'running' -> 'paused'",
        "container sc-r1-shop-1: nano_cpus 250000000 -> 20000000",
        "container sc-r1-shop-1: networks (('net', '10.213.0.5'),) -> ()",
        "iptables in sc-r1-shop-1: fault rules left stormcheck-fault-1a",
        "toxiproxy postgres: enabled True -> False",
        "toxiproxy postgres: toxics left stormcheck-fault-2b",
        "fill file left: /var/lib/stormcheck/volumes/r1/pg-1/fill",
        "patroni roles ['leader/running', 'replica/running'] -> ['leader/running', 'replica/stopped']",
        "redis roles ['master', 'slave'] -> ['master', 'master']",
        "load generator pid 4242 left without its owner",
    ]
    # which member leads is free to change: roles are compared as a multiset
    assert diff(before, _snapshot(patroni_roles=("replica/running", "leader/running"))) != []
    assert diff(_snapshot(patroni_roles=("leader/running", "replica/running")), _snapshot()) == []
