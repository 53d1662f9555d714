"""The experiment engine without a platform: the journal read in order, exit codes, replay plans,
seeds, the traffic burst's bounds, and members restarted with the addresses they had."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from stormcheck.chaos import revert
from stormcheck.chaos.experiment import ExperimentRun, pin_seed, replay_plan
from stormcheck.chaos.experiment_file import read_experiment
from stormcheck.chaos.journal import ExperimentOutcome, JournalReading, read_journal
from stormcheck.chaos.local import traffic
from stormcheck.chaos.local.actions import FaultInputError
from stormcheck.chaos.undo import Undo
from stormcheck.errors import ConfigError
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder

pytestmark = pytest.mark.unit

EXPERIMENTS = project_root() / "experiments" / "local"


def _activity(name: str, kind: str, status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    return {"activity": {"name": name, "type": kind}, "status": status, **extra}


def _journal(**changes: Any) -> dict[str, Any]:
    journal: dict[str, Any] = {
        "status": "completed",
        "deviated": False,
        "steady_states": {
            "before": {
                "steady_state_met": True,
                "probes": [_activity("ingress-answers", "probe", output=200, tolerance_met=True)],
            },
            "after": {
                "steady_state_met": True,
                "probes": [_activity("ingress-answers", "probe", output=200, tolerance_met=True)],
            },
            "during": [],
        },
        "run": [_activity("kill-one", "action", output={"targets": ["shop-2"], "seed": 7})],
        "rollbacks": [_activity("start-it", "action", output={"undone": ["f1"]})],
    }
    journal.update(changes)
    return journal


def test_a_journal_that_held_is_held_with_what_the_actions_recorded() -> None:
    reading = read_journal(_journal())
    assert reading.outcome is ExperimentOutcome.HELD
    assert reading.actions == ({"targets": ["shop-2"], "seed": 7},)


def test_a_steady_state_not_met_before_the_method_is_inconclusive_not_a_pass() -> None:
    # what chaoslib writes: completed, not deviated, nothing injected
    before = {
        "steady_state_met": False,
        "probes": [_activity("ingress-answers", "probe", output=503, tolerance_met=False)],
    }
    journal = _journal(steady_states={"before": before, "after": None, "during": []}, run=[])
    reading = read_journal(journal)
    assert reading.outcome is ExperimentOutcome.INCONCLUSIVE
    assert reading.reasons == (
        "platform not ready: steady state not met before the method",
        "ingress-answers gave 503",
    )
    # what a list of experiments waits out and tries once more (nothing was injected)
    assert reading.not_ready
    assert not read_journal(_journal()).not_ready


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {
                "run": [
                    _activity(
                        "kill-one",
                        "action",
                        "failed",
                        exception=["Traceback", "PlatformError: x\n"],
                    )
                ]
            },
            "action 'kill-one' failed: PlatformError: x",
        ),
        (
            {"rollbacks": [_activity("start-it", "action", "failed", exception="docker: gone")]},
            "rollback 'start-it' failed: docker: gone",
        ),
        (
            {"status": "interrupted", "interruption": {"reason": "received SIGINT"}},
            "the run ended interrupted (received SIGINT)",
        ),
        ({"status": "aborted"}, "the run ended aborted"),
    ],
)
def test_a_failed_action_or_rollback_or_an_unfinished_run_is_a_harness_error(
    changes: dict[str, Any], reason: str
) -> None:
    # chaoslib still says completed and not deviated for a failed action
    reading = read_journal(_journal(**changes))
    assert reading.outcome is ExperimentOutcome.ERROR
    assert reason in reading.reasons


def test_a_harness_error_wins_over_a_deviation() -> None:
    journal = _journal(
        deviated=True, rollbacks=[_activity("start-it", "action", "failed", exception="boom")]
    )
    assert read_journal(journal).outcome is ExperimentOutcome.ERROR


def test_deviated_names_the_probes_that_missed_and_a_probe_that_raised_is_inconclusive() -> None:
    journal = _journal(deviated=True)
    journal["steady_states"]["after"]["probes"] = [
        _activity("ingress-answers", "probe", output=0, tolerance_met=False)
    ]
    reading = read_journal(journal)
    assert reading.outcome is ExperimentOutcome.DEVIATED
    assert "ingress-answers gave 0" in reading.reasons
    journal["steady_states"]["after"]["probes"] = [
        _activity("slo", "probe", "failed", exception="BackendError: prometheus down")
    ]
    reading = read_journal(journal)
    assert reading.outcome is ExperimentOutcome.INCONCLUSIVE
    assert reading.reasons == ("slo could not measure: BackendError: prometheus down",)


@pytest.mark.parametrize(
    ("outcome", "diff", "code"),
    [
        (ExperimentOutcome.HELD, (), 0),
        (ExperimentOutcome.HELD, ("toxiproxy postgres: toxics left x",), 1),
        (ExperimentOutcome.DEVIATED, (), 1),
        (ExperimentOutcome.INCONCLUSIVE, (), 2),
        (ExperimentOutcome.ERROR, ("container x: status 'exited' -> 'running'",), 2),
    ],
)
def test_exit_codes(outcome: ExperimentOutcome, diff: tuple[str, ...], code: int) -> None:
    run = ExperimentRun(
        reading=JournalReading(outcome=outcome, reasons=("why",)),
        journal_path=Path("j.json"),
        diff=diff,
        seconds=1.0,
    )
    assert run.exit_code == code
    assert ("snapshot diff: empty" in run.explain()) is (not diff)


def test_a_replay_pins_the_recorded_targets_and_seeds_and_keeps_the_configuration(
    tmp_path: Path,
) -> None:
    folder = RunFolder(tmp_path / "20260101T000000Z-abcdef").create()
    document = dict(read_experiment(EXPERIMENTS / "replica_killed.yaml").document)
    run_entry = _activity(
        "kill-one-api-replica", "action", output={"targets": ["shop-3"], "seed": 1234}
    )
    journal = {
        **_journal(run=[run_entry]),
        "experiment": copy.deepcopy(document),
        "stormcheck": {
            "file": str(EXPERIMENTS / "replica_killed.yaml"),
            "configuration": {"stormcheck_run": folder.run_id, "recovery_watch_s": 12},
        },
    }
    (folder.journals_dir / "20260101T000100Z-replica_killed.json").write_text(json.dumps(journal))
    plan = replay_plan(folder, EXPERIMENTS / "replica_killed.yaml")
    arguments = plan.experiment["method"][0]["provider"]["arguments"]
    assert arguments == {"target": "shop-3", "share": 0.34, "seed": 1234}
    assert plan.variables == {"recovery_watch_s": 12}  # not the earlier run's id
    with pytest.raises(ConfigError, match=r"has no journal of experiment 'zone_b_lost'"):
        replay_plan(folder, EXPERIMENTS / "zone_b_lost.yaml")


def test_a_seed_goes_to_every_action_that_chooses_targets_and_names_none() -> None:
    document = copy.deepcopy(dict(read_experiment(EXPERIMENTS / "replica_killed.yaml").document))
    assert pin_seed(document, 42) == ["kill-one-api-replica"]
    assert document["method"][0]["provider"]["arguments"]["seed"] == 42
    assert pin_seed(document, 43) == []  # a seed the file names is kept
    latency = copy.deepcopy(dict(read_experiment(EXPERIMENTS / "postgres_latency.yaml").document))
    assert pin_seed(latency, 42) == []  # add_latency chooses no target


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: traffic.burst(rate=5000), r"^rate: expected a number in \(0, 2000\], got 5000$"),
        (lambda: traffic.burst(duration_s=0), r"^duration_s: expected a number in \(0, 60\]"),
        (lambda: traffic.burst(concurrency=10_000), r"^concurrency: expected a number in"),
        (lambda: traffic.burst(path="http://example.com/"), r"^path: expected a path starting"),
    ],
)
def test_a_burst_is_bounded_before_any_run_is_looked_up(call: Any, message: str) -> None:
    with pytest.raises(FaultInputError, match=message):
        call()


@pytest.mark.parametrize("url", ["http://10.1.2.3:8080", "http://example.com", "http://[::2]:80"])
def test_a_burst_is_aimed_only_at_the_loopback_address(url: str) -> None:
    with pytest.raises(FaultInputError, match="is not on this machine's loopback address"):
        traffic._loopback(url)
    traffic._loopback("http://127.0.0.1:8080")
    traffic._loopback("http://localhost:8080")


class _Network:
    def __init__(self, calls: list[tuple[str, ...]]) -> None:
        self.calls = calls

    def disconnect(self, container: object, force: bool = False) -> None:
        self.calls.append(("disconnect",))

    def connect(self, container: object, ipv4_address: str = "", aliases: object = ()) -> None:
        self.calls.append(("connect", ipv4_address, *cast(list[str], aliases)))


def test_a_restarted_member_gets_back_the_address_it_had() -> None:
    calls: list[tuple[str, ...]] = []

    handle = SimpleNamespace(
        client=SimpleNamespace(networks=SimpleNamespace(get=lambda name: _Network(calls)))
    )
    endpoint: dict[str, Any] = {"IPAddress": "", "IPAMConfig": None}
    container = SimpleNamespace(attrs={"NetworkSettings": {"Networks": {"net": endpoint}}})

    undo = Undo(kind="start", component="redis-1", params={"addresses": {"net": "10.213.1.8"}})
    revert._keep_addresses(cast(Any, handle), cast(Any, container), undo)
    assert calls == [("disconnect",), ("connect", "10.213.1.8", "redis-1")]
    calls.clear()
    endpoint["IPAMConfig"] = {"IPv4Address": "10.213.1.8"}
    revert._keep_addresses(cast(Any, handle), cast(Any, container), undo)
    assert calls == []  # already pinned: nothing to do
    bare = Undo(kind="start", component="x")
    revert._keep_addresses(cast(Any, handle), cast(Any, container), bare)
    assert calls == []  # an undo written before addresses were recorded


def test_activities_find_the_run_in_the_runs_folder_the_command_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `stormcheck --set runs_dir=X run`: the command's settings have X, but activities, probes
    # and controls load settings of their own; every experiment of such a run was interrupted
    # ("no run to act on") before the environment carried X to them.
    from stormcheck.chaos.experiment import _runs_dir_for_activities
    from stormcheck.local.session import runs_dir
    from stormcheck.settings import load_settings

    monkeypatch.delenv("STORMCHECK_RUNS_DIR", raising=False)
    folder = RunFolder(tmp_path / "elsewhere" / "20260101T000000Z-abcdef").create()
    assert runs_dir(load_settings()) != folder.root.parent
    with _runs_dir_for_activities(folder):
        assert runs_dir(load_settings()) == folder.root.parent
    assert "STORMCHECK_RUNS_DIR" not in os.environ


def test_an_activity_end_keeps_the_time_chaoslib_noted_before_the_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chaoslib calls the control after an activity's `pauses.after`: a burst of 2.5 s followed
    # by a 35 s recovery watch would otherwise end when the watch does
    from stormcheck.chaos import control
    from stormcheck.timeline import EventKind

    folder = RunFolder(tmp_path / "20260101T000000Z-abcdef").create()
    monkeypatch.setattr(control, "resolve_run", lambda configuration: folder)
    state = {"status": "succeeded", "end": "2026-01-01T00:00:07.500000+00:00", "output": None}
    control.after_activity_control({"name": "burst", "type": "action"}, state=state)
    control.after_activity_control({"name": "probe", "type": "probe"}, state={"end": "soon"})
    burst, probe = folder.timeline.events(EventKind.ACTIVITY_END)
    assert burst.attrs["ended_ms"] == 1767225607500
    assert probe.attrs["ended_ms"] is None  # unreadable: the judge falls back to the event time
