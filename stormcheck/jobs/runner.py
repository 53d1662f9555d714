"""The plan runner: a plan file's steps in order, each within its time budget.

:func:`run_plan` sweeps the janitor, runs each step (:mod:`stormcheck.jobs.steps`), records the
verdicts of the steps that do not record their own in the run's ``verdicts.json``, and always
brings the platform down at the end — also on Ctrl-C or an error, when the load generator is
stopped and the faults rolled back first (the experiment's rollbacks, then the janitor). Once the
plan's budget is spent, the remaining steps are not started (``report`` and ``down`` still run)
and are judged not measured. The run is recorded in the run store with its plan and exit code.

With ``dry_run`` nothing is started: the plan is checked against the project (scenarios,
experiment files, the expected outcomes' lists) and its steps are listed with their budgets.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from stormcheck.errors import StormcheckError
from stormcheck.jobs.outcome import Judged, exit_code
from stormcheck.jobs.progress import Display
from stormcheck.jobs.steps import STEPS, Job
from stormcheck.plans import Plan
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.verdict import Verdict

if TYPE_CHECKING:
    from stormcheck.judge import Score

__all__ = ["ALWAYS", "JobResult", "StepReport", "run_plan"]

ALWAYS = frozenset({"report", "down"})
"""Steps run even when the plan's budget is spent or an earlier step failed to run."""

_RECORD_THEMSELVES = frozenset({"gate", "catalogue"})  # the gate and the judge write verdicts.json


@dataclass(frozen=True, slots=True, kw_only=True)
class StepReport:
    """How one step went: its budget and the seconds it took (None: not started)."""

    kind: str
    budget_s: int
    seconds: float | None
    error: str | None = None

    @property
    def over_budget(self) -> bool:
        """Whether the step took longer than its budget."""
        return self.seconds is not None and self.seconds > self.budget_s


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """A plan's run: every judged line, each step's time, the score, where things are."""

    plan: Plan
    lines: tuple[Judged, ...]
    steps: tuple[StepReport, ...]
    folder: RunFolder | None
    report: Path | None
    score: str | None
    seconds: float
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 all met, 1 one not, 2 something not measured (130 after Ctrl-C)."""
        return 130 if self.interrupted else exit_code(self.lines)


def _record(folder: RunFolder, lines: list[Judged]) -> None:
    from stormcheck.slo.run_verdicts import merge_verdicts

    own = [j.verdict for j in lines if j.step not in _RECORD_THEMSELVES]
    if own:
        folder.write_verdicts(merge_verdicts(folder.read_verdicts(), own))


def _sweep(settings: Settings, display: Display) -> None:
    from docker.errors import DockerException

    from stormcheck.chaos.janitor import sweep
    from stormcheck.local.engine import connect

    client = connect()
    try:
        for finding in sweep(settings, client):
            display.line(f"janitor: {finding.line()}")
    except (DockerException, StormcheckError) as exc:
        # Other runs' containers come and go while the scan lists them; say so, go on.
        display.line(f"janitor: sweep not finished ({exc}); `stormcheck janitor` repeats it")
    finally:
        client.close()


def _score(job: Job) -> Score | None:
    return job.score()


def _store(job: Job, code: int, score: float | None) -> None:
    from stormcheck.runstore import open_store

    if job.folder is None or not job.folder.manifest_path.exists():
        return
    with open_store(job.runs_dir) as store:
        store.record(job.folder, plan=job.plan.name, exit_code=code, score=score)


class _Interrupts:
    """SIGINT as KeyboardInterrupt, remembered: an engine that handles Ctrl-C itself (the load
    runner stops Locust and returns) must not turn the job's interrupt into a step's error."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came, even if something swallowed it."""
        if self.seen:
            raise KeyboardInterrupt


def _run_step(
    job: Job, number: int, kind: str, budget_s: int, interrupts: _Interrupts
) -> tuple[list[Judged], str | None]:
    step = job.plan.steps[number - 1]
    job.display.step(number, len(job.plan.steps), kind, budget_s)
    job.deadline = time.monotonic() + budget_s
    from docker.errors import DockerException
    from httpx import HTTPError

    try:
        found = STEPS[kind](job, step)
        interrupts.check()
        return found, None
    except (StormcheckError, DockerException, HTTPError) as exc:
        interrupts.check()
        judged = Judged(
            step=kind,
            verdict=Verdict.inconclusive(f"{kind}/ran", f"the step could not run: {exc}"),
            judged=f"step {kind}",
        )
        job.display.line(f"step {kind} could not run: {exc}")
        return [judged], str(exc)


def run_plan(
    plan: Plan,
    settings: Settings,
    display: Display,
    *,
    runs_dir: Path,
    seed: int | None = None,
) -> JobResult:
    """Run ``plan``'s steps in order (see the module); the result says how it went.

    Ctrl-C (KeyboardInterrupt) stops the current step; the platform is still brought down and
    the janitor swept before the interrupt is reported (``interrupted``).
    """
    job = Job(
        plan=plan,
        settings=settings,
        display=display,
        runs_dir=runs_dir,
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    started = time.monotonic()
    plan_deadline = started + plan.budget_s
    lines: list[Judged] = []
    reports: list[StepReport] = []
    interrupted = False
    display.line(f"plan {plan.name}: {plan.description} (seed {job.seed})")
    interrupts = _Interrupts()
    previous = signal.signal(signal.SIGINT, interrupts)
    try:
        _sweep(settings, display)
        for number, step in enumerate(plan.steps, 1):
            if time.monotonic() > plan_deadline and step.kind not in ALWAYS:
                lines.append(
                    Judged(
                        step=step.kind,
                        verdict=Verdict.inconclusive(
                            f"{step.kind}/not-run",
                            f"not started: the plan's budget of {plan.budget_s} s was spent",
                        ),
                        judged=f"step {step.kind}",
                    )
                )
                reports.append(StepReport(kind=step.kind, budget_s=step.budget_s, seconds=None))
                continue
            if step.kind == "down":
                continue  # in the finally below, whatever happens
            began = time.monotonic()
            found, error = _run_step(job, number, step.kind, step.budget_s, interrupts)
            lines.extend(found)
            reports.append(
                StepReport(
                    kind=step.kind,
                    budget_s=step.budget_s,
                    seconds=time.monotonic() - began,
                    error=error,
                )
            )
            if job.folder is not None:
                _record(job.folder, found)
            if step.kind == "up" and job.folder is None:
                display.line("the platform did not come up: nothing more to measure")
                break
    except KeyboardInterrupt:
        interrupted = True
        display.line("interrupted: stopping the load, rolling back, taking the platform down")
    finally:
        job.cleanups.close()
        down = plan.step("down")
        if job.folder is not None and (down is not None or interrupted):
            began = time.monotonic()
            with _protected():
                STEPS["down"](job, down or plan.steps[-1])
            if down is not None:
                reports.append(
                    StepReport(
                        kind="down", budget_s=down.budget_s, seconds=time.monotonic() - began
                    )
                )
        with _protected():
            _sweep(settings, display)
        signal.signal(signal.SIGINT, previous)
    scored = None if interrupted else _score(job)
    result = JobResult(
        plan=plan,
        lines=tuple(lines),
        steps=tuple(reports),
        folder=job.folder,
        report=job.report,
        score=None if scored is None else scored.explain(),
        seconds=time.monotonic() - started,
        interrupted=interrupted,
    )
    _store(job, result.exit_code, None if scored is None else scored.value)
    return result


@contextlib.contextmanager
def _protected() -> Iterator[None]:
    """Cleanup is not cut short by another Ctrl-C: SIGINT is ignored until the block is done."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
