"""The signal guard with chaoslib's real run loop, the stop conditions' parsing and monitor, and
the kill switch — without a platform (tier 0)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from stormcheck.chaos import safeguards
from stormcheck.chaos.experiment import Interrupted, _guard_events, signal_guard
from stormcheck.chaos.halt import HaltedError, check_not_halted, clear, halt, halted
from stormcheck.chaos.safeguards import Monitor, StopCondition, parse_conditions
from stormcheck.errors import ConfigError
from stormcheck.runs import RunFolder
from stormcheck.settings import load_settings
from stormcheck.timeline import EventKind

pytestmark = pytest.mark.unit

MODULE = "suites.safety.activities"


def _activity(name: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "action",
        "provider": {"type": "python", "module": MODULE, "func": func, "arguments": arguments},
    }


def _run(experiment: dict[str, Any], trace: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from chaoslib.experiment import run_experiment

    monkeypatch.setenv("STORMCHECK_TEST_TRACE", str(trace))
    with signal_guard() as guard:
        journal = run_experiment(
            experiment,
            settings={"runtime": {"rollbacks": {"strategy": "always"}}},
            event_handlers=[_guard_events(guard)],
        )
        return journal, list(guard.received), guard.exit_signal


def _experiment(method: list[dict[str, Any]], rollbacks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"title": "signals", "description": "d", "method": method, "rollbacks": rollbacks}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_method_interrupts_it_and_the_rollbacks_run(
    signum: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace"
    journal, received, exit_signal = _run(
        _experiment(
            [
                _activity("fault", "signal_self", label="fault", signum=int(signum), seconds=5),
                _activity("never", "step", label="never"),
            ],
            [_activity("undo", "step", label="undo")],
        ),
        trace,
        monkeypatch,
    )
    assert journal["status"] == "interrupted"
    assert trace.read_text().splitlines() == ["start fault", "start undo", "end undo"]
    assert received == [signum]
    assert 128 + exit_signal == {int(signal.SIGINT): 130, int(signal.SIGTERM): 143}[signum]


def test_a_second_signal_during_the_rollbacks_does_not_abandon_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace"
    journal, received, exit_signal = _run(
        _experiment(
            [
                _activity(
                    "fault", "signal_self", label="fault", signum=int(signal.SIGINT), seconds=5
                )
            ],
            [
                _activity("undo-1", "signal_self", label="undo-1", signum=int(signal.SIGINT)),
                _activity("undo-2", "signal_self", label="undo-2", signum=int(signal.SIGTERM)),
                _activity("undo-3", "step", label="undo-3"),
            ],
        ),
        trace,
        monkeypatch,
    )
    assert trace.read_text().splitlines() == [
        "start fault",
        *("start undo-1", "end undo-1", "start undo-2", "end undo-2"),
        *("start undo-3", "end undo-3"),
    ]
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"] * 3
    assert received == [signal.SIGINT, signal.SIGINT, signal.SIGTERM]
    assert exit_signal == signal.SIGINT


def test_without_the_guard_chaoslib_abandons_the_rollbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the guard exists: chaoslib alone drops the remaining rollbacks on a second signal."""
    from chaoslib.experiment import run_experiment

    trace = tmp_path / "trace"
    monkeypatch.setenv("STORMCHECK_TEST_TRACE", str(trace))
    journal = run_experiment(
        _experiment(
            [
                _activity(
                    "fault", "signal_self", label="fault", signum=int(signal.SIGTERM), seconds=5
                )
            ],
            [
                _activity("undo-1", "signal_self", label="undo-1", signum=int(signal.SIGTERM)),
                _activity("undo-2", "step", label="undo-2"),
            ],
        ),
        settings={"runtime": {"rollbacks": {"strategy": "always"}}},
    )
    assert journal["status"] == "interrupted"
    assert "start undo-2" not in trace.read_text()


def test_a_tripped_stop_condition_interrupts_a_pause_and_the_rollbacks_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGUSR1 (chaoslib's exit_gracefully, what a tripped monitor sends) cuts a long pause."""
    trace = tmp_path / "trace"
    hold = _activity("fault", "signal_later", label="fault", signum=int(signal.SIGUSR1))
    hold["pauses"] = {"after": 60}
    started = time.monotonic()
    journal, received, exit_signal = _run(
        _experiment([hold], [_activity("undo", "step", label="undo")]), trace, monkeypatch
    )
    assert time.monotonic() - started < 10
    assert journal["status"] == "interrupted"
    assert trace.read_text().splitlines()[-2:] == ["start undo", "end undo"]
    assert received == [signal.SIGUSR1]
    assert exit_signal is None


def test_the_guard_outside_chaoslib_raises_interrupted() -> None:
    def interrupted_sleep() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    with signal_guard() as guard, pytest.raises(Interrupted) as interrupted:
        interrupted_sleep()
    assert interrupted.value.exit_code == 143
    assert guard.exit_signal == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is not guard._handle


# --- stop conditions ---------------------------------------------------------------------------


def test_stop_conditions_are_parsed_or_refused_in_one_located_line() -> None:
    parsed = parse_conditions(
        [{"slo": "catalogue-availability", "burn_rate": 14.4, "window_s": 30}, {"alert": "X"}]
    )
    assert parsed == (
        StopCondition(kind="burn_rate", name="catalogue-availability", threshold=14.4, window_s=30),
        StopCondition(kind="alert", name="X"),
    )
    assert "/ 0.001" in parsed[0].query()
    assert "haproxy_backend_http_responses_total" in parsed[0].query()
    assert parsed[1].query() == 'count(ALERTS{alertname="X", alertstate="firing"}) or vector(0)'
    cases = {
        "stop conditions: expected a non-empty list of conditions, got []": [],
        "stop conditions[0]: burn_rate: expected a number > 0, got 'high'": [
            {"slo": "s", "burn_rate": "high"}
        ],
        "stop conditions[0]: expected {slo, burn_rate[, window_s]} or {alert}, got keys"
        " ['alert', 'slo']": [{"alert": "X", "slo": "s"}],
    }
    for message, raw in cases.items():
        with pytest.raises(ConfigError) as error:
            parse_conditions(raw)
        assert str(error.value) == message
    with pytest.raises(ConfigError, match=r"expected one of .*catalogue-availability"):
        parse_conditions([{"slo": "nope", "burn_rate": 1}])[0].query()


def test_the_monitor_trips_on_the_kill_switch(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "runs" / "r-1").create()
    reasons: list[str] = []
    monitor = Monitor(folder, (), 0.1, trip=reasons.append)
    monitor.start()
    try:
        time.sleep(0.5)
        assert reasons == []
        settings = load_settings("local", env={"STORMCHECK_RUNS_DIR": str(tmp_path / "runs")})
        halt(settings, "planned maintenance")
        deadline = time.monotonic() + 5
        while not reasons and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        monitor.stop()
    assert len(reasons) == 1
    assert reasons[0].startswith("kill switch: halted since")
    assert "planned maintenance" in reasons[0]
    notes = [
        e for e in folder.timeline.events(EventKind.NOTE) if e.name == "stop condition tripped"
    ]
    assert len(notes) == 1


def test_the_monitor_trips_when_it_cannot_see(tmp_path: Path) -> None:
    """No run file (so no Prometheus) three checks in a row: a blind safeguard trips."""
    folder = RunFolder(tmp_path / "runs" / "r-1").create()
    monitor = Monitor(folder, parse_conditions([{"alert": "X"}]), 0.1, trip=lambda _r: None)
    assert monitor.check() is None
    assert monitor.check() is None
    reason = monitor.check()
    assert reason is not None
    assert reason.startswith("stop conditions not checkable 3 times in a row")
    safeguards.reset()


# --- the kill switch ---------------------------------------------------------------------------


def test_halt_blocks_new_runs_until_cleared(tmp_path: Path) -> None:
    settings = load_settings("local", env={"STORMCHECK_RUNS_DIR": str(tmp_path)})
    check_not_halted(settings)
    pulled = halt(settings, "incident 42")
    assert halt(settings, "again") == pulled  # idempotent: the first halt stands
    assert json.loads((tmp_path / "HALT").read_text())["reason"] == "incident 42"
    with pytest.raises(HaltedError, match=r"not starting a run: halted since .* incident 42"):
        check_not_halted(settings)
    assert clear(settings) == pulled
    assert halted(settings) is None
    check_not_halted(settings)


def test_the_commands_refuse_to_start_while_halted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stormcheck.cli import main

    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    code, out, _ = run("halt", "--reason", "test")
    assert code == 0
    assert "halted since" in out
    for args in (
        ("up",),
        ("load", "shop-open", "--share", "0.5", "--duration", "5"),
        ("experiment", "run", "experiments/local/replica_killed.yaml", "--run", "r-x"),
    ):
        code, out, err = run(*args)
        assert code == 3, (args, out, err)
        assert "halted since" in err, args
    code, out, _ = run("halt", "--clear")
    assert code == 0
    assert out.startswith("lifted: halted since")
    assert not (tmp_path / "HALT").exists()
