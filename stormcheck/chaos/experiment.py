"""Running an experiment file through chaostoolkit-lib, the way the ``chaos`` CLI would, plus what
stormcheck promises around it.

:func:`run_experiment` runs one experiment against a run of the platform:

- in the main thread (chaoslib installs its signal handlers there; a sink or a load generator runs
  in other threads);
- with the rollbacks always played: chaoslib honours an experiment's
  ``runtime.rollbacks.strategy`` only when the ``chaos`` CLI copies it into the settings, so this
  path passes ``always`` itself — otherwise a failed probe would leave the fault in place;
- with a snapshot of the run before and after (the diff must be empty once the platform settled);
- with the journal kept in the run folder (``journals/``), extended by a ``stormcheck`` section:
  the file, the configuration it ran with, the outcome, the diff — what a replay needs;
- under the blast-radius policy of the settings it was given (:mod:`stormcheck.chaos.policy`);
- with signals handled so that the rollbacks always run (:class:`SignalGuard`): SIGINT or
  SIGTERM interrupts the experiment, its rollbacks run, and the exit code says which signal
  came (130 / 143). chaoslib abandons the remaining rollbacks on a second signal; here a signal
  during the rollbacks is noted and ignored, and after chaoslib every fault this process applied
  during the experiment that is still live in the ledger is undone. A stop condition that trips
  (:mod:`stormcheck.chaos.safeguards`, SIGUSR1) interrupts it the same way. After SIGKILL, which
  no process can handle, the ledger and ``stormcheck janitor`` revert what was left (the holder
  is dead).

:func:`replay_plan` turns an earlier run's journal into the same experiment with every target and
seed pinned to what the activities recorded there.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from chaoslib.exceptions import InterruptExecution

from stormcheck.chaos import safeguards
from stormcheck.chaos.context import RUN_CONFIG_KEY, RunHandle
from stormcheck.chaos.experiment_file import read_experiment
from stormcheck.chaos.journal import ExperimentOutcome, JournalReading, read_journal
from stormcheck.chaos.policy import settings_in_force
from stormcheck.chaos.revert import rollback
from stormcheck.chaos.snapshot import SETTLE_S, settled, take
from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.redaction import redact
from stormcheck.runs import RunFolder
from stormcheck.settings import ENV_PREFIX, Settings
from stormcheck.timeline import EventKind, now_ms

__all__ = [
    "EXIT_DEVIATED",
    "EXIT_HELD",
    "EXIT_REFUSED",
    "EXIT_UNMEASURED",
    "ExperimentRun",
    "Interrupted",
    "ReplayPlan",
    "SignalGuard",
    "background_load",
    "chaoslib_problems",
    "interrupted",
    "pin_seed",
    "replay_plan",
    "run_experiment",
    "signal_guard",
]

EXIT_HELD = 0
EXIT_DEVIATED = 1
EXIT_UNMEASURED = 2
EXIT_REFUSED = 3  # the policy or the kill switch refused it: nothing was changed
_JOURNAL_KEY = "stormcheck"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRun:
    """One experiment run: the journal read, where it is kept, and the snapshot diff."""

    reading: JournalReading
    journal_path: Path
    diff: tuple[str, ...]
    seconds: float
    signal: int | None = None  # the first SIGINT / SIGTERM received, if any
    stopped: str | None = None  # why a stop condition (or the kill switch) stopped it
    refused: str | None = None  # why the policy refused it (nothing was changed)

    @property
    def exit_code(self) -> int:
        """128 + the signal when SIGINT / SIGTERM interrupted it (130, 143); 3: refused by the
        policy or the kill switch before any change; 1: a stop condition aborted it (the SLO
        broke) — otherwise 0: held and nothing left changed; 1: deviated (or the platform was
        not left as found); 2: something could not be measured (not ready, a probe that could
        not measure, an action or rollback that failed, the kill switch pulled during it)."""
        if self.signal is not None:
            return 128 + self.signal
        if self.refused is not None:
            return EXIT_REFUSED
        if self.stopped is not None:
            return EXIT_UNMEASURED if self.stopped.startswith("kill switch") else EXIT_DEVIATED
        outcome = self.reading.outcome
        if outcome in (ExperimentOutcome.INCONCLUSIVE, ExperimentOutcome.ERROR):
            return EXIT_UNMEASURED
        if outcome is ExperimentOutcome.DEVIATED or self.diff:
            return EXIT_DEVIATED
        return EXIT_HELD

    def explain(self) -> str:
        """The outcome, and the diff if any, for the terminal."""
        lines = [self.reading.explain()]
        if self.refused:
            lines.append(f"refused before any change: {self.refused}")
        if self.stopped:
            lines.append(f"aborted and rolled back: {self.stopped}")
        if self.signal is not None:
            lines.append(f"interrupted by {signal.Signals(self.signal).name}; rollbacks played")
        lines += [f"left changed: {line}" for line in self.diff] or ["snapshot diff: empty"]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """What an earlier run did: the experiment as it ran, pinned, and its configuration."""

    experiment: dict[str, Any]
    variables: dict[str, Any]
    journal: Path


class Interrupted(InterruptExecution):  # type: ignore[misc]  # chaoslib is untyped
    """A signal (or a tripped stop condition) interrupts the experiment; chaoslib then plays the
    rollbacks."""

    def __init__(self, signum: int, reason: str) -> None:
        super().__init__(reason)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


_GUARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)


@dataclass
class SignalGuard:
    """SIGINT, SIGTERM and SIGUSR1 while an experiment runs (see the module).

    The first signal raises :class:`Interrupted` in the main thread, unless the guard
    :attr:`protects` (rollbacks under way, or the run being taken down): then every signal is
    noted and the work goes on. SIGUSR1 is chaoslib's "exit gracefully" (a tripped stop
    condition); it interrupts without setting an exit signal.
    """

    received: list[int] = field(default_factory=list)
    protects: bool = False
    say: Callable[[str], None] = lambda _line: None
    _previous: dict[int, Any] = field(default_factory=dict)

    @property
    def exit_signal(self) -> int | None:
        """The first SIGINT or SIGTERM received, if any."""
        return next((s for s in self.received if s != signal.SIGUSR1), None)

    def install(self) -> None:
        """Handle the signals in this (the main) thread; idempotent."""
        for signum in _GUARDED:
            previous = signal.signal(signum, self._handle)
            self._previous.setdefault(signum, previous)

    def restore(self) -> None:
        """Put back the handlers found at the first :meth:`install`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = not self.received
        self.received.append(signum)
        if self.protects or not first:
            self.say(f"{name}: rolling back first; the rest is left to the rollbacks")
            return
        if signum == signal.SIGUSR1:
            raise Interrupted(
                signum, f"stop condition: {safeguards.tripped() or 'SIGUSR1 received'}"
            )
        self.say(f"{name}: interrupting the experiment; its rollbacks run")
        raise Interrupted(signum, f"{name} received")


_active_guards: list[SignalGuard] = []  # the guard in force, if any (main thread only)


def interrupted() -> str | None:
    """Why the experiment running in this process was interrupted, if it was: the first signal
    its guard received, else a tripped stop condition. For activities in the background of a
    method, which chaoslib waits for before it plays the rollbacks: they stop early on it."""
    guards = list(_active_guards)  # read from another thread: a copy, never the list itself
    received = guards[0].received[:1] if guards else []
    if received and received[0] != signal.SIGUSR1:
        return f"{signal.Signals(received[0]).name} received"
    return safeguards.tripped() or (f"{signal.Signals.SIGUSR1.name} received" if received else None)


@contextmanager
def signal_guard(say: Callable[[str], None] = lambda _line: None) -> Iterator[SignalGuard]:
    """The guard in force (a command's, when it installed one), else a new one for the block."""
    if _active_guards:
        yield _active_guards[0]
        return
    if threading.current_thread() is not threading.main_thread():
        raise StormcheckError("signal handling needs the main thread")
    guard = SignalGuard(say=say)
    guard.install()
    _active_guards.append(guard)
    try:
        yield guard
    finally:
        _active_guards.clear()
        guard.restore()


def _guard_events(guard: SignalGuard) -> Any:
    """A chaoslib event handler: ours back over chaoslib's signal handlers once its run starts
    (chaoslib's abandon the rollbacks on a second signal), and the rollbacks protected."""
    from chaoslib.run import RunEventHandler

    class GuardEvents(RunEventHandler):  # type: ignore[misc]
        def running(self, *_args: Any, **_kwargs: Any) -> None:
            guard.install()

        def start_rollbacks(self, *_args: Any, **_kwargs: Any) -> None:
            guard.protects = True

    return GuardEvents()


def chaoslib_problems(experiment: Mapping[str, Any], source: Path) -> list[str]:
    """Chaos Toolkit's own validation (what ``chaos validate`` runs), as located lines."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        ensure_experiment_is_valid(copy.deepcopy(dict(experiment)))
    except ChaosException as exc:
        return [f"{source}: chaostoolkit: {exc}"]
    return []


def _function(activity: Mapping[str, Any]) -> Any:
    provider = activity.get("provider") or {}
    if provider.get("type") != "python":
        return None
    try:
        return getattr(importlib.import_module(str(provider["module"])), str(provider["func"]))
    except (ImportError, AttributeError, KeyError):
        return None


def pin_seed(experiment: dict[str, Any], seed: int) -> list[str]:
    """Give every method action that takes a ``seed`` and names none this ``seed``; their names."""
    pinned = []
    for activity in experiment.get("method") or []:
        function = _function(activity)
        if activity.get("type") != "action" or function is None:
            continue
        arguments = activity.setdefault("provider", {}).setdefault("arguments", {})
        if "seed" in inspect.signature(function).parameters and "seed" not in arguments:
            arguments["seed"] = seed
            pinned.append(str(activity.get("name")))
    return pinned


def _latest_journal(folder: RunFolder, stem: str) -> Path:
    found = []
    for path in sorted(folder.journals_dir.glob("*.json")):
        try:
            recorded = json.loads(path.read_text(encoding="utf-8")).get(_JOURNAL_KEY) or {}
        except (OSError, ValueError):
            continue
        if Path(str(recorded.get("file", ""))).stem == stem:
            found.append(path)
    if not found:
        raise ConfigError(
            f"replay: run {folder.run_id} has no journal of experiment {stem!r} in"
            f" {folder.journals_dir}"
        )
    return found[-1]


def replay_plan(folder: RunFolder, experiment_file: Path) -> ReplayPlan:
    """The experiment of ``experiment_file`` exactly as its last run in ``folder`` did it.

    The experiment document is the one that ran (kept in the journal); each method action that
    succeeded there gets the seed it recorded and, when it hit one member, that member by name.
    """
    path = _latest_journal(folder, experiment_file.stem)
    journal = json.loads(path.read_text(encoding="utf-8"))
    experiment = copy.deepcopy(journal["experiment"])
    experiment.pop("dry", None)
    outputs = {
        str((e.get("activity") or {}).get("name")): e.get("output")
        for e in journal.get("run") or []
        if e.get("status") == "succeeded"
    }
    for activity in experiment.get("method") or []:
        output = outputs.get(str(activity.get("name")))
        if activity.get("type") != "action" or not isinstance(output, Mapping):
            continue
        arguments = activity.setdefault("provider", {}).setdefault("arguments", {})
        if isinstance(output.get("seed"), int):
            arguments["seed"] = output["seed"]
        targets = output.get("targets")
        if isinstance(targets, list) and len(targets) == 1:
            for key in ("target", "member"):
                if key in arguments:
                    arguments[key] = targets[0]
    recorded = journal.get(_JOURNAL_KEY) or {}
    variables = dict(recorded.get("configuration") or {})
    variables.pop(RUN_CONFIG_KEY, None)
    return ReplayPlan(experiment=experiment, variables=variables, journal=path)


def _resolved_configuration(
    experiment: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Any]:
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    try:
        return dict(
            load_configuration(dict(experiment.get("configuration") or {}), dict(variables))
        )
    except ChaosException as exc:
        raise ConfigError(f"configuration: {exc}") from None


@contextmanager
def _runs_dir_for_activities(folder: RunFolder) -> Iterator[None]:
    """Activities, probes and controls find the run through the settings they load themselves
    (``stormcheck.chaos.context.resolve_run``): show them this run's folder through the
    environment, so ``stormcheck --set runs_dir=...`` reaches them as it reached the command,
    background threads included."""
    name = f"{ENV_PREFIX}RUNS_DIR"
    earlier = os.environ.get(name)
    os.environ[name] = str(folder.root.parent)
    try:
        yield
    finally:
        if earlier is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = earlier


def run_experiment(
    experiment: Mapping[str, Any],
    folder: RunFolder,
    settings: Settings,
    *,
    source: Path,
    variables: Mapping[str, Any] | None = None,
    settle_s: float = SETTLE_S,
    replay_of: Path | None = None,
    progress: Progress = lambda _line: None,
) -> ExperimentRun:
    """Run ``experiment`` (read from ``source``) against the run in ``folder``; see the module."""
    from chaoslib.experiment import run_experiment as chaoslib_run
    from chaoslib.types import Schedule, Strategy

    if threading.current_thread() is not threading.main_thread():
        raise StormcheckError("experiments run in the main thread (chaoslib's signal handling)")
    document = copy.deepcopy(dict(experiment))
    problems = chaoslib_problems(document, source)
    if problems:
        raise ConfigError("\n".join(problems))
    config_vars = {RUN_CONFIG_KEY: folder.run_id, **dict(variables or {})}
    configuration = _resolved_configuration(document, config_vars)
    handle = RunHandle(folder, settings)
    started = time.monotonic()
    started_ms = now_ms()
    leftover: list[str] = []
    safeguards.reset()
    with (
        signal_guard(progress) as guard,
        settings_in_force(settings) as refusals,
        _runs_dir_for_activities(folder),
    ):
        try:
            progress(f"snapshot of run {folder.run_id} before")
            before = take(handle)
            try:
                journal = chaoslib_run(
                    document,
                    settings={
                        "runtime": {
                            "rollbacks": {"strategy": "always"},
                            "hypothesis": {"strategy": "default"},
                        }
                    },
                    experiment_vars=(dict(config_vars), {}),
                    strategy=Strategy.DEFAULT,
                    schedule=Schedule(),
                    event_handlers=[_guard_events(guard)],
                )
            finally:
                guard.protects = True
                leftover = _undo_leftovers(handle, started_ms, progress)
            progress("snapshot after (waiting for the platform to settle)")
            lines = settled(handle, before, 0.0 if guard.exit_signal else settle_s)
        finally:
            handle.close()
    seconds = time.monotonic() - started
    refused = refusals[0] if refusals and journal.get("status") == "interrupted" else None
    stopped = safeguards.tripped() if journal.get("status") == "interrupted" else None
    if stopped is not None:
        journal["interruption"] = {"reason": stopped}
    reading = read_journal(journal)
    journal[_JOURNAL_KEY] = {
        "file": str(source),
        "run_id": folder.run_id,
        "configuration": configuration,
        "outcome": reading.outcome.value,
        "reasons": list(reading.reasons),
        "snapshot_diff": lines,
        "replay_of": str(replay_of) if replay_of else None,
        "seconds": round(seconds, 3),
        "signals": [signal.Signals(s).name for s in guard.received],
        "refused": refused,
        "stopped": stopped,
        "leftovers_undone": leftover,
    }
    folder.journals_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder.journals_dir / f"{stamp}-{source.stem}.json"
    path.write_text(redact(json.dumps(journal, indent=2, default=str)) + "\n", encoding="utf-8")
    folder.timeline.record(
        EventKind.NOTE,
        f"experiment {source.stem}",
        outcome=reading.outcome.value,
        journal=str(path),
        diff=len(lines),
    )
    return ExperimentRun(
        reading=reading,
        journal_path=path,
        diff=tuple(lines),
        seconds=seconds,
        signal=guard.exit_signal,
        stopped=stopped,
        refused=refused,
    )


def _undo_leftovers(handle: RunHandle, since_ms: int, progress: Progress) -> list[str]:
    """Undo every fault this process applied since ``since_ms`` that is still live (a rollback
    abandoned, or interrupted half-way); the fault ids undone."""
    try:
        undone = rollback(handle, where=lambda e: e.at_ms >= since_ms, by="experiment cleanup")
    except StormcheckError as exc:
        progress(f"undoing what the rollbacks left failed: {exc}")
        print(f"stormcheck: undoing what the rollbacks left failed: {exc}", file=sys.stderr)
        return []
    for entry in undone:
        progress(f"undone after the rollbacks: {entry.description}")
    return [e.fault_id for e in undone]


def run_experiment_file(
    path: Path,
    folder: RunFolder,
    settings: Settings,
    *,
    variables: Mapping[str, Any] | None = None,
    seed: int | None = None,
    replay: RunFolder | None = None,
    settle_s: float = SETTLE_S,
    ready_wait_s: float | None = None,
    progress: Progress = lambda _line: None,
) -> ExperimentRun:
    """Read the experiment at ``path`` (or, with ``replay``, what that run did with it), pin the
    seed when given, and run it (see :func:`run_experiment`).

    With ``ready_wait_s``, an experiment that found the platform not ready (its steady state not
    met before the method: nothing was injected) is run once more after that wait: in a list of
    experiments the platform may still be recovering from the one before. The first attempt's
    journal is kept under ``journals/not-ready/``; a second "not ready" stands.
    """

    def attempt() -> ExperimentRun:
        return _run_experiment_file(
            path,
            folder,
            settings,
            variables=variables,
            seed=seed,
            replay=replay,
            settle_s=settle_s,
            progress=progress,
        )

    ran = attempt()
    if ready_wait_s is None or not ran.reading.not_ready or ran.diff:
        return ran
    aside = folder.journals_dir / "not-ready"
    aside.mkdir(parents=True, exist_ok=True)
    ran.journal_path.rename(aside / ran.journal_path.name)
    progress(
        f"platform not ready ({'; '.join(ran.reading.reasons[1:]) or 'steady state not met'});"
        f" once more in {ready_wait_s:g} s"
    )
    time.sleep(ready_wait_s)
    return attempt()


def _run_experiment_file(
    path: Path,
    folder: RunFolder,
    settings: Settings,
    *,
    variables: Mapping[str, Any] | None,
    seed: int | None,
    replay: RunFolder | None,
    settle_s: float,
    progress: Progress,
) -> ExperimentRun:
    replay_of = None
    merged: dict[str, Any] = {}
    if replay is not None:
        plan = replay_plan(replay, path)
        document, merged, replay_of = plan.experiment, plan.variables, plan.journal
        progress(f"replaying {plan.journal}")
    else:
        document = copy.deepcopy(dict(read_experiment(path).document))
    merged.update(variables or {})
    if seed is not None:
        pinned = pin_seed(document, seed)
        progress(f"seed {seed} for {', '.join(pinned) or 'no action (none takes a seed)'}")
    return run_experiment(
        document,
        folder,
        settings,
        source=path,
        variables=merged,
        settle_s=settle_s,
        replay_of=replay_of,
        progress=progress,
    )


@contextmanager
def background_load(
    folder: RunFolder, scenario_name: str, *, rate: float, users: int, progress: Progress
) -> Iterator[None]:
    """Drive ``scenario_name`` against the run (through its ingress when it has one) in another
    thread while the block runs; stopped, in order, when it ends. The request log and Locust's
    stats go to the run folder (``requests.jsonl``, ``load/``)."""
    from stormcheck.load.runner import LoadPlan, run_load
    from stormcheck.load.scenarios import scenario

    chosen = scenario(scenario_name)
    manifest = folder.read_manifest()
    host = (
        manifest.endpoint("ingress", "api")
        if "ingress" in manifest.components
        else manifest.endpoint(chosen.component, chosen.endpoint)
    )
    plan = LoadPlan(
        scenario=chosen,
        host=host,
        duration_s=2 * 3600.0,  # bounded; stopped when the experiment ends
        rate=rate,
        users=users,
    )
    stop = threading.Event()
    failure: list[BaseException] = []

    def drive() -> None:
        try:
            folder.timeline.record(EventKind.LOAD_START, chosen.name, host=host)
            result = run_load(
                plan, folder.root / "load", request_log=folder.requests_path, stop=stop
            )
            folder.timeline.record(
                EventKind.LOAD_END, chosen.name, outcome=result.verdict.outcome.value
            )
            progress(f"load: {result.verdict.explain()}")
        except BaseException as exc:  # reported in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=drive, name="stormcheck-load", daemon=True)
    progress(f"load: {chosen.name} against {host}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
    if failure:
        raise StormcheckError(f"load {chosen.name}: {failure[0]}")
