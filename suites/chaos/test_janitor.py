"""The janitor reverts what a dead holder left — and never what a live one holds.

Holders here are real processes (``python -c`` running an action, then sleeping), SIGKILLed as a
crashed ``chaos run`` would be, while the run's owner (this test process) lives on.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaoslib.experiment import run_experiment
from docker import DockerClient

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.janitor import sweep
from stormcheck.chaos.ledger import Ledger, LedgerEntry, new_fault_id
from stormcheck.chaos.snapshot import diff, take
from stormcheck.chaos.undo import Undo
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.targets import open_target
from stormcheck.testing import FaultBench
from suites.chaos.leases import dead_lease

pytestmark = pytest.mark.integration

_HOLD = "from stormcheck.chaos.local import actions as a; import sys, time; {call}; print('held', flush=True); time.sleep(600)"


def _holder(call: str, run_id: str, runs_dir: Path) -> subprocess.Popen[str]:
    """A process that applies a fault and then holds it (until it is killed)."""
    env = {**os.environ, "STORMCHECK_RUN": run_id, "STORMCHECK_RUNS_DIR": str(runs_dir)}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD.format(call=call)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held", call
    return holder


def _kill(holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    if holder.stdout is not None:
        holder.stdout.close()


def test_a_sigkilled_holders_faults_are_reverted_and_nothing_is_left(
    fault_bench: FaultBench, settings: Settings, docker_client: DockerClient
) -> None:
    run = fault_bench.handle.folder
    holder = _holder(
        "a.pause(target='shop-3'); a.add_latency(link='redis', latency_ms=50); a.throttle_cpu(target='shop-1', cpus=0.05)",
        run.run_id,
        run.root.parent,
    )
    try:
        assert len(fault_bench.diff()) == 3, fault_bench.diff()
        # the holder lives: nothing of it is touched
        assert [f for f in sweep(settings, docker_client) if f.run_id == run.run_id] == []
        assert len(fault_bench.diff()) == 3
    finally:
        _kill(holder)  # the run's owner (this process) is still alive
    found = [f for f in sweep(settings, docker_client) if f.run_id == run.run_id]
    assert sorted(f.what.split(" (fault")[0] for f in found if f.done) == [
        "latency {'latency': 50, 'jitter': 0} on the redis link (downstream)",
        "pause shop-3",
        "shop-1 throttled to 0.05 CPU (from 0.25)",
    ]
    assert Ledger(run).live() == []
    assert fault_bench.diff() == []


def test_a_crash_between_the_entry_and_the_change_leaves_a_harmless_undo(
    fault_bench: FaultBench, settings: Settings, docker_client: DockerClient
) -> None:
    run = fault_bench.handle.folder
    crashed = dead_lease()  # one process that wrote its entries and died before changing
    for undo in (
        Undo(kind="unpause", component="shop-2"),
        Undo(kind="start", component="shop-2"),
        Undo(
            kind="toxic",
            component="toxiproxy",
            params={"proxy": "postgres", "toxic": "stormcheck-fault-never"},
        ),
        Undo(
            kind="iptables",
            component="shop-2",
            params={"rules": [["INPUT", "-s", "10.213.255.254", "-j", "DROP"]]},
        ),
        Undo(kind="limits", component="shop-2", params={"cpus": 0.25}),
    ):
        Ledger(run).record(
            LedgerEntry(
                fault_id=new_fault_id(),
                action="crashed",
                description=f"never applied: {undo.kind}",
                undo=undo,
                holder=crashed,
            )
        )
    found = [f for f in sweep(settings, docker_client) if f.run_id == run.run_id]
    assert len([f for f in found if f.done and "never applied" in f.what]) == 5, found
    assert Ledger(run).live() == []
    assert fault_bench.diff() == []


@pytest.fixture
def two_small_runs(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[Settings, RunFolder, RunFolder]]:
    """Two runs of a lone Redis, in their own runs folder, removed at the end."""
    local = dataclasses.replace(settings, runs_dir=tmp_path / "runs")
    target = open_target(local)
    first, _ = target.provision(owner="process", only=("redis",))
    try:
        second, _ = target.provision(owner="process", only=("redis",))
        try:
            yield local, first, second
        finally:
            target.teardown(second)
    finally:
        target.teardown(first)


def _paused(docker_client: DockerClient, folder: RunFolder) -> bool:
    container = docker_client.containers.get(f"sc-{folder.run_id}-redis")
    return bool(container.attrs["State"]["Paused"])


def test_the_janitor_of_one_run_never_reverts_a_live_fault_of_another(
    two_small_runs: tuple[Settings, RunFolder, RunFolder],
    docker_client: DockerClient,
    settings: Settings,
) -> None:
    local, first, second = two_small_runs
    holders = [
        _holder("a.pause(target='redis')", r.run_id, local.runs_dir) for r in (first, second)
    ]
    try:
        mine = {first.run_id, second.run_id}
        assert [f for f in sweep(local, docker_client) if f.run_id in mine] == []
        # a janitor started for another runs folder finds these runs' ledgers by their label
        assert [f for f in sweep(settings, docker_client) if f.run_id in mine] == []
        assert _paused(docker_client, first) and _paused(docker_client, second)
        _kill(holders[0])
        found = [f for f in sweep(local, docker_client) if f.run_id in mine]
        assert [f.run_id for f in found if f.done] == [first.run_id]
        assert not _paused(docker_client, first) and _paused(docker_client, second)
    finally:
        for holder in holders:
            if holder.poll() is None:
                _kill(holder)
        sweep(local, docker_client)
    assert not _paused(docker_client, second)


def test_with_the_run_folder_deleted_the_scan_by_label_finds_the_fault(
    two_small_runs: tuple[Settings, RunFolder, RunFolder],
    docker_client: DockerClient,
    tmp_path: Path,
) -> None:
    local, run, other = two_small_runs
    handle = RunHandle(run, local)
    before = take(handle)
    holder = _holder("a.pause(target='redis')", run.run_id, local.runs_dir)
    _kill(holder)
    kept = tmp_path / "kept"
    shutil.copytree(run.root, kept)
    shutil.rmtree(run.root)  # the ledger goes with it
    try:
        # a sweep scoped to another run (an experiment attached to it) leaves this one alone
        scoped = sweep(local, docker_client, only_run=other.run_id)
        assert [f for f in scoped if f.run_id == run.run_id] == []
        assert _paused(docker_client, run)
        found = [f for f in sweep(local, docker_client) if f.run_id == run.run_id]
        assert [f.what for f in found if f.done] == [f"sc-{run.run_id}-redis: paused"], found
    finally:
        shutil.copytree(kept, run.root)  # so the run can be taken down as usual
    Ledger(run).settle(Ledger(run).live()[0].fault_id, by="test: the scan reverted it")
    assert diff(before, take(handle)) == []
    handle.close()


def test_chaoslib_with_a_run_that_does_not_exist_changes_nothing(fault_bench: FaultBench) -> None:
    shop = {"type": "python", "module": "stormcheck.chaos.local.actions"}
    experiment = {
        "version": "1.0.0",
        "title": "Is a run that does not exist left alone?",
        "description": "The control refuses the run before the steady state is even probed.",
        "configuration": {"stormcheck_run": "20990101T000000Z-ffffff"},
        "controls": [
            {
                "name": "stormcheck",
                "provider": {"type": "python", "module": "stormcheck.chaos.control"},
            }
        ],
        "steady-state-hypothesis": {
            "title": "the ingress answers",
            "probes": [
                {
                    "type": "probe",
                    "name": "ingress-health",
                    "tolerance": 200,
                    "provider": {
                        "type": "python",
                        "module": "stormcheck.chaos.local.probes",
                        "func": "http_status",
                    },
                }
            ],
        },
        "method": [
            {
                "type": "action",
                "name": "kill-every-replica",
                "provider": {**shop, "func": "kill", "arguments": {"target": "shop"}},
            }
        ],
        "rollbacks": [
            {"type": "action", "name": "restart", "provider": {**shop, "func": "undo_kill"}}
        ],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }
    journal = run_experiment(
        experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}}
    )
    assert journal["status"] in ("interrupted", "aborted"), journal["status"]
    assert journal["run"] == [] and not journal.get("deviated")
    assert fault_bench.handle.ledger.live() == []
    assert fault_bench.diff() == []
