"""The cost of breaking the platform through stormcheck.chaos, against the bare calls underneath.

- ``fault_roundtrip``: per action, apply + rollback through the activities (run lookup, ledger
  entry fsynced before the change, the change, the undo, the ledger settled, the timeline) against
  the bare Docker, Toxiproxy or iptables calls that make and undo the same change. Fails when any
  action costs more than ``MAX_RATIO`` times its bare calls. ``kill`` is timed with its rollback
  waiting for the replica to be ready again, and the baseline waits for the same readiness check.
- ``fault_snapshot``: one snapshot of the full stack (every container, its limits and networks,
  the iptables of each network namespace, Toxiproxy, Patroni and Redis roles) against a bare
  ``docker inspect`` of every container; fails above ``SNAPSHOT_TARGET_S``.

Both run on a full stack of their own, removed at the end.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from benchmarks.record import record
from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.local import actions
from stormcheck.chaos.revert import docker_update, nsenter_iptables
from stormcheck.chaos.snapshot import take
from stormcheck.errors import NotReadyError
from stormcheck.local.engine import connect
from stormcheck.local.session import bring_down, bring_up
from stormcheck.local.stacks import components_for
from stormcheck.runs import RunFolder
from stormcheck.settings import load_settings

__all__ = ["MAX_RATIO", "SNAPSHOT_TARGET_S", "bench_fault_roundtrip", "bench_fault_snapshot"]

MAX_RATIO = 3.0
SNAPSHOT_TARGET_S = 2.0
REPEAT = 5


@contextmanager
def _full_stack() -> Iterator[RunHandle]:
    settings = dataclasses.replace(load_settings(), stack="full")
    folder, _ = bring_up(settings, owner="process")
    handle = RunHandle(folder, settings)
    try:
        yield handle
    finally:
        handle.close()
        bring_down(settings, folder)


def _times(action: Callable[[], object]) -> list[float]:
    measured = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        action()
        measured.append(time.perf_counter() - started)
    return measured


def _ready_again(handle: RunHandle, component: str) -> None:
    """The bare way: poll the registry's readiness check on the container's published ports."""
    declared = {c.name: c for c in components_for("full", only=(component,))}[component]
    container = handle.client.containers.get(handle.manifest().container(component))
    while True:
        container.reload()
        ports = container.attrs["NetworkSettings"]["Ports"] or {}
        try:
            endpoints = {
                name: template.format(host="127.0.0.1", port=ports[f"{port}/tcp"][0]["HostPort"])
                for port, (name, template) in declared.ports.items()
            }
            declared.ready(endpoints)
            return
        except (KeyError, IndexError, TypeError, NotReadyError):
            time.sleep(0.25)


def _pairs(
    handle: RunHandle, folder: RunFolder
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    config = {"stormcheck_run": folder.run_id}
    client = handle.client
    shop3 = client.containers.get(handle.manifest().container("shop-3"))
    shop2 = client.containers.get(handle.manifest().container("shop-2"))
    pid = int(client.containers.get(handle.manifest().container("pg-2")).attrs["State"]["Pid"])
    peer = handle.client.containers.get(handle.manifest().container("pg-1"))
    address = next(iter(peer.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    tag = ["-m", "comment", "--comment", "bench", "-j", "DROP"]
    rules = [["INPUT", "-s", address, *tag], ["OUTPUT", "-d", address, *tag]]

    def bare_kill() -> None:
        shop2.kill()
        shop2.start()
        _ready_again(handle, "shop-2")

    def bare_latency() -> None:
        with handle.toxiproxy() as toxiproxy:
            toxiproxy.add_toxic("postgres", "latency", {"latency": 300}, name="bench")
            toxiproxy.remove_toxic("postgres", "bench")

    def bare_disable() -> None:
        with handle.toxiproxy() as toxiproxy:
            toxiproxy.disable("redis")
            toxiproxy.enable("redis")

    def bare_partition() -> None:  # the same two rules: pg-2 cut off from pg-1 both ways
        for rule in rules:
            nsenter_iptables(pid, ["-I", *rule])
        for rule in rules:
            nsenter_iptables(pid, ["-D", *rule])

    def bare_throttle() -> None:
        docker_update(str(shop3.name), "--cpus=0.02")
        docker_update(str(shop3.name), "--cpus=0.25")

    return {
        "pause": (
            lambda: (
                actions.pause("shop-3", configuration=config),
                actions.undo_pause(configuration=config),
            ),
            lambda: (shop3.pause(), shop3.unpause()),
        ),
        "kill": (
            lambda: (
                actions.kill("shop-2", configuration=config),
                actions.undo_kill(configuration=config),
            ),
            bare_kill,
        ),
        "add_latency": (
            lambda: (
                actions.add_latency("postgres", 300, configuration=config),
                actions.undo_toxics(configuration=config),
            ),
            bare_latency,
        ),
        "disable_link": (
            lambda: (
                actions.disable_link("redis", configuration=config),
                actions.undo_disable_link(configuration=config),
            ),
            bare_disable,
        ),
        "partition": (
            lambda: (
                actions.partition("pg-2", peers="pg-1", configuration=config),
                actions.undo_partition(configuration=config),
            ),
            bare_partition,
        ),
        "throttle_cpu": (
            lambda: (
                actions.throttle_cpu("shop-3", cpus=0.02, configuration=config),
                actions.undo_throttle_cpu(configuration=config),
            ),
            bare_throttle,
        ),
    }


def bench_fault_roundtrip() -> None:
    with _full_stack() as handle:
        failures = []
        per_action: dict[str, dict[str, float]] = {}
        subject_all: list[float] = []
        baseline_all: list[float] = []
        for name, (ours, bare) in _pairs(handle, handle.folder).items():
            bare()  # warm both paths once (imports, connections)
            ours()
            subject = _times(ours)
            baseline = _times(bare)
            ratio = statistics.median(subject) / statistics.median(baseline)
            per_action[name] = {
                "subject_median_s": statistics.median(subject),
                "baseline_median_s": statistics.median(baseline),
                "ratio": ratio,
            }
            subject_all += subject
            baseline_all += baseline
            if ratio > MAX_RATIO:
                failures.append(f"{name} {ratio:.2f}x")
        worst = max(per_action.items(), key=lambda item: item[1]["ratio"])
        record(
            "fault_roundtrip",
            subject_all,
            baseline_all,
            "apply + rollback through stormcheck.chaos vs the bare Docker/Toxiproxy/iptables calls",
            summary=f"worst {worst[0]} {worst[1]['ratio']:.2f}x (limit {MAX_RATIO:g}x)",
            per_action=per_action,
            limit_ratio=MAX_RATIO,
        )
    if failures:
        raise SystemExit(f"fault_roundtrip: above {MAX_RATIO:g}x: {', '.join(failures)}")


def bench_fault_snapshot() -> None:
    with _full_stack() as handle:
        client = connect()
        names = [
            c.name
            for c in client.containers.list(
                all=True, filters={"label": f"stormcheck.run={handle.folder.run_id}"}
            )
        ]
        take(handle)  # warm
        subject = _times(lambda: take(handle))
        baseline = _times(lambda: [client.api.inspect_container(n) for n in names])
        client.close()
        median = statistics.median(subject)
        record(
            "fault_snapshot",
            subject,
            baseline,
            f"snapshot of the full stack ({len(names)} containers) vs docker inspect of each",
            summary=f"{median:.2f} s (target <= {SNAPSHOT_TARGET_S:g} s)",
            target_s=SNAPSHOT_TARGET_S,
            containers=len(names),
        )
    if median > SNAPSHOT_TARGET_S:
        raise SystemExit(f"fault_snapshot: {median:.2f} s, above {SNAPSHOT_TARGET_S:g} s")
