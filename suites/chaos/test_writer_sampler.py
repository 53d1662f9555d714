"""The split-brain sampler (``postgres_writers``) on real Patroni members.

The smallest run with two Patroni members: the full stack's etcd cluster (three members: one
alone has no quorum) and ``pg-1``/``pg-2``, nothing else, in a runs folder of the module's own.

- Sampling a healthy pair for 5 s: every round has both members' answers, exactly one of them
  writable, and that one is the member Patroni names leader.
- The leader cut off for real (``partition``: iptables in its network namespace, everything but
  loopback dropped) while the sampler runs: the cut-off member still answers ``docker exec``
  (the engine enters the container; psql uses its Unix socket), the standby takes over, and no
  round finds two writable members. The figures are printed (``-s``).
- An interrupted experiment (Ctrl-C, a stop condition) ends the sampling at once: chaoslib waits
  for background activities before it plays the rollbacks.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from stormcheck.chaos.experiment import signal_guard
from stormcheck.chaos.local import actions, probes
from stormcheck.local.session import bring_down, bring_up
from stormcheck.settings import Settings
from stormcheck.waiting import NotYet, poll_until

# nightly: a stack of its own and a 30 s cut (about 50 s); tier 1's budget for the resilience
# work is spent on the smoke catalogue, and the nightly catalogue runs the sampler in its experiment
pytestmark = pytest.mark.slow

_COMPONENTS = ("etcd-1", "etcd-2", "etcd-3", "pg-1", "pg-2")
_MEMBERS = ["pg-1", "pg-2"]
# Patroni (ttl 10, loop_wait 2, retry_timeout 4): the cut-off leader demotes itself within
# retry_timeout plus a loop, the standby takes the key after the ttl; 30 s leaves room for a
# loaded machine and still shows the new writer for several rounds.
_CUT_OFF_WATCH_S = 30


@pytest.fixture(scope="module")
def patroni_pair(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A run of etcd and the two Patroni members only, owned by this module; its configuration."""
    runs = tmp_path_factory.mktemp("runs")
    own = dataclasses.replace(settings, stack="full", runs_dir=runs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORMCHECK_RUNS_DIR", str(runs))  # the activities read their own settings
        folder, _ = bring_up(own, owner="process", only=_COMPONENTS)
        try:
            configuration = {"stormcheck_run": folder.run_id}
            _wait_for_a_streaming_replica(configuration)
            yield configuration
        finally:
            bring_down(own, folder)


def _wait_for_a_streaming_replica(configuration: dict[str, str]) -> None:
    def pair() -> bool | NotYet:
        roles = {m["name"]: (m.get("role"), m.get("state")) for m in _members(configuration)}
        standing = list(roles.values())
        if (
            len(roles) == 2
            and any(r == "leader" for r, _ in standing)
            and all(s in ("running", "streaming") for _, s in standing)
        ):
            return True
        return NotYet(f"members: {roles}")

    poll_until(
        pair,
        timeout_s=120,
        interval_s=1,
        on_timeout=lambda why: AssertionError(
            f"no leader with a streaming replica in 120 s: {why}"
        ),
    )


def _members(configuration: dict[str, str]) -> list[dict[str, Any]]:
    return probes._patroni_members(configuration)  # the probes' own reading of Patroni


def _writers(output: dict[str, Any]) -> list[list[str]]:
    return [sorted(m for m, w in r["writable"].items() if w is True) for r in output["rounds"]]


def test_a_healthy_pair_has_one_writable_member_in_every_round(
    patroni_pair: dict[str, str],
) -> None:
    leader = probes.patroni_leader(patroni_pair)
    output = probes.postgres_writers(span_s=5, configuration=patroni_pair)
    rounds = output["rounds"]
    print(f"\nhealthy pair: {len(rounds)} rounds, leader {leader}: {rounds}")
    assert output["members"] == _MEMBERS and output["interval_s"] == 1.0
    assert 5 <= len(rounds) <= 6, rounds  # ticks 0..5 s, a slow round skips the ticks it overran
    for sample in rounds:
        assert set(sample["writable"]) == set(_MEMBERS), sample
        assert all(isinstance(w, bool) for w in sample["writable"].values()), sample
        assert "errors" not in sample, sample
    assert _writers(output) == [[leader]] * len(rounds)
    gaps = [b["at_ms"] - a["at_ms"] for a, b in itertools.pairwise(rounds)]
    assert all(gap >= 900 for gap in gaps), gaps  # one round a second, never a burst


def test_the_leader_cut_off_by_iptables_still_answers_and_no_round_has_two_writers(
    patroni_pair: dict[str, str],
) -> None:
    old = probes.patroni_leader(patroni_pair)
    assert old in _MEMBERS, f"no leader before the cut: {_members(patroni_pair)}"
    with ThreadPoolExecutor(1) as pool:
        sampling = pool.submit(
            probes.postgres_writers, span_s=_CUT_OFF_WATCH_S, configuration=patroni_pair
        )
        try:
            cut = actions.partition(member="postgres-primary", configuration=patroni_pair)
            assert cut["targets"] == [old], cut
            output = sampling.result(timeout=_CUT_OFF_WATCH_S + 30)
        finally:
            actions.undo_partition(configuration=patroni_pair)
    rounds = output["rounds"]
    writers = _writers(output)
    cut_off_answers = sum(isinstance(r["writable"][old], bool) for r in rounds)
    turns = [i for i in range(1, len(rounds)) if writers[i] != writers[i - 1]]
    changes = [(rounds[i]["at_ms"] - rounds[0]["at_ms"], writers[i]) for i in [0, *turns]]
    first = turns[0] if turns else 0
    print(
        f"\ncut off {old}: {len(rounds)} rounds; {old} answered {cut_off_answers};"
        f" writers by ms since the first round: {changes};"
        f" errors: {[r['errors'] for r in rounds if 'errors' in r]};"
        f" output {len(json.dumps(output))} bytes of JSON;"
        f" rounds around the first change: {rounds[max(0, first - 3) : first + 2]}"
    )
    assert all(len(w) <= 1 for w in writers), f"two writable members: {changes}"
    new = next(m for m in _MEMBERS if m != old)
    assert writers[0] == [old] and writers[-1] == [new], changes
    # docker exec enters the cut-off container from the engine: it answers over its socket,
    # except while Patroni restarts its PostgreSQL as a standby
    assert cut_off_answers >= len(rounds) - 5, [r for r in rounds if "errors" in r]


def test_an_interrupted_experiment_stops_the_sampler_at_once(
    patroni_pair: dict[str, str],
) -> None:
    """chaoslib waits for background activities before the rollbacks: the sampler must not keep
    a fault on for the rest of its span once the experiment is interrupted."""
    with ThreadPoolExecutor(1) as pool, signal_guard() as guard:
        started = time.monotonic()
        sampling = pool.submit(probes.postgres_writers, span_s=60, configuration=patroni_pair)
        time.sleep(2.5)
        guard.received.append(signal.SIGINT)  # what the guard records when Ctrl-C comes
        output = sampling.result(timeout=10)
        took = time.monotonic() - started
    print(f"\ninterrupted after 2.5 s: returned after {took:.2f} s, {len(output['rounds'])} rounds")
    assert output["stopped"] == "SIGINT received", output
    assert 2 <= len(output["rounds"]) <= 4, output["rounds"]
    assert took < 2.5 + 3, took  # at most one round (timeout 3 s) after the interruption
