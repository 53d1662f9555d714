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
  the file, the configuration it ran with, the outcome, the diff — what a replay needs.

:func:`replay_plan` turns an earlier run's journal into the same experiment with every target and
seed pinned to what the activities recorded there.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stormcheck.chaos.context import RUN_CONFIG_KEY, RunHandle
from stormcheck.chaos.experiment_file import read_experiment
from stormcheck.chaos.journal import ExperimentOutcome, JournalReading, read_journal
from stormcheck.chaos.snapshot import Snapshot, diff, take
from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.redaction import redact
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.timeline import EventKind

__all__ = [
    "EXIT_DEVIATED",
    "EXIT_HELD",
    "EXIT_UNMEASURED",
    "ExperimentRun",
    "ReplayPlan",
    "background_load",
    "chaoslib_problems",
    "pin_seed",
    "replay_plan",
    "run_experiment",
]

EXIT_HELD = 0
EXIT_DEVIATED = 1
EXIT_UNMEASURED = 2
SETTLE_S = 30.0  # how long the platform may take to be as it was (a member rejoining)
_JOURNAL_KEY = "stormcheck"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRun:
    """One experiment run: the journal read, where it is kept, and the snapshot diff."""

    reading: JournalReading
    journal_path: Path
    diff: tuple[str, ...]
    seconds: float

    @property
    def exit_code(self) -> int:
        """0: held and nothing left changed; 1: deviated (or the platform was not left as found);
        2: something could not be measured (not ready, a probe that could not measure, an action
        or rollback that failed)."""
        outcome = self.reading.outcome
        if outcome in (ExperimentOutcome.INCONCLUSIVE, ExperimentOutcome.ERROR):
            return EXIT_UNMEASURED
        if outcome is ExperimentOutcome.DEVIATED or self.diff:
            return EXIT_DEVIATED
        return EXIT_HELD

    def explain(self) -> str:
        """The outcome, and the diff if any, for the terminal."""
        lines = [self.reading.explain()]
        lines += [f"left changed: {line}" for line in self.diff] or ["snapshot diff: empty"]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayPlan:
    """What an earlier run did: the experiment as it ran, pinned, and its configuration."""

    experiment: dict[str, Any]
    variables: dict[str, Any]
    journal: Path


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


def _settled(handle: RunHandle, before: Snapshot, settle_s: float) -> list[str]:
    deadline = time.monotonic() + settle_s
    while True:
        lines = diff(before, take(handle))
        if not lines or time.monotonic() >= deadline:
            return lines
        time.sleep(2.0)


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
    try:
        progress(f"snapshot of run {folder.run_id} before")
        before = take(handle)
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
        )
        progress("snapshot after (waiting for the platform to settle)")
        lines = _settled(handle, before, settle_s)
    finally:
        handle.close()
    seconds = time.monotonic() - started
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
    return ExperimentRun(reading=reading, journal_path=path, diff=tuple(lines), seconds=seconds)


def run_experiment_file(
    path: Path,
    folder: RunFolder,
    settings: Settings,
    *,
    variables: Mapping[str, Any] | None = None,
    seed: int | None = None,
    replay: RunFolder | None = None,
    settle_s: float = SETTLE_S,
    progress: Progress = lambda _line: None,
) -> ExperimentRun:
    """Read the experiment at ``path`` (or, with ``replay``, what that run did with it), pin the
    seed when given, and run it (see :func:`run_experiment`)."""
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
