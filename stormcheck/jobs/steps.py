"""The steps a plan is made of, one function per kind (:data:`STEPS`).

Each takes the job's :class:`Job` state and its :class:`~stormcheck.plans.Step`, does its work
with the engine that owns it, and returns what it judged as :class:`Judged` lines:

- ``up``: the plan's stack, owned by this process; the alert sink hosted here; provenance written;
- ``smoke``: every component's readiness and a re-check of its health;
- ``gate``: load at a share of the calibrated capacity (a stored calibration of the same images is
  reused), then every SLO of platform/slo/ over the window, as ``stormcheck gate`` judges it;
- ``catalogue``: each experiment of the list under load, judged against its expected outcome;
- ``canary``: an experiment with a planted breach that the stop conditions must abort, with an
  empty snapshot diff after it;
- ``report``: the Allure results, HTML report and Markdown summary;
- ``down``: the run's containers, network and volumes removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.jobs.outcome import Judged
from stormcheck.jobs.progress import Display
from stormcheck.paths import project_root
from stormcheck.plans import Load, Plan, Step
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings
from stormcheck.timeline import EventKind, now_ms
from stormcheck.verdict import Evidence, Verdict, Window

if TYPE_CHECKING:
    from stormcheck.chaos.experiment import ExperimentRun
    from stormcheck.judge import Expectations, ResilienceResult, Row, Score
    from stormcheck.observability.sink import AlertSink

__all__ = ["EXPERIMENTS_DIR", "STEPS", "Job", "StepFunction"]

EXPERIMENTS_DIR = Path("experiments") / "local"
CANARY_DIR = Path("experiments") / "canary"  # beside the catalogue, never judged as part of it
LOAD_WARMUP_S = 10.0  # the load reaches its rate before anything is judged
CALIBRATION_COMPONENT_FALLBACK = "shop-1"


@dataclass(slots=True, kw_only=True)
class Job:
    """What the steps of one plan's run share."""

    plan: Plan
    settings: Settings
    display: Display
    runs_dir: Path
    seed: int
    folder: RunFolder | None = None
    sink: AlertSink | None = None
    capacity_rps: float | None = None
    expectations: Expectations | None = None
    results: list[ResilienceResult] = field(default_factory=list)
    report: Path | None = None
    evidence_kept: bool = False  # the report step kept the run's evidence
    cleanups: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    deadline: float = 0.0  # the current step's, on time.monotonic()

    def run_folder(self) -> RunFolder:
        """The run's folder; :class:`ConfigError` when the plan has no ``up`` before this step."""
        if self.folder is None:
            raise ConfigError(f"plan {self.plan.path}: this step needs the platform up first")
        return self.folder

    def remaining_s(self) -> float:
        """Seconds left of the current step's budget."""
        return self.deadline - time.monotonic()

    def score(self) -> Score | None:
        """The resilience score of the experiments judged so far (None: none judged)."""
        from stormcheck.judge import resilience_score

        if not self.results or self.expectations is None:
            return None
        return resilience_score(self.results, self.expectations.weights)


StepFunction = Callable[[Job, Step], list[Judged]]


def _unmeasured(step: str, name: str, judged: str, reason: str) -> Judged:
    return Judged(step=step, verdict=Verdict.inconclusive(name, reason), judged=judged)


# -- up / smoke / down -----------------------------------------------------------------------


def up(job: Job, step: Step) -> list[Judged]:
    """Start the plan's stack owned by this process, host its alert sink, write its provenance."""
    from stormcheck.errors import NotReadyError
    from stormcheck.local.delivery import host_sink
    from stormcheck.local.engine import connect
    from stormcheck.local.provenance import record_provenance
    from stormcheck.local.session import bring_up

    settings = dataclasses.replace(job.settings, stack=job.plan.stack)  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        folder, manifest = bring_up(settings, owner="process", progress=job.display.line)
    except NotReadyError as exc:
        return [_unmeasured("up", "up", f"the {job.plan.stack} stack", f"not ready: {exc}")]
    job.folder = folder
    client = connect()
    try:
        if "alertmanager" in manifest.components:
            job.sink = host_sink(client, folder)
            job.cleanups.callback(job.sink.stop)
            job.display.line(f"alert sink: {job.sink.url}")
        record_provenance(client, settings, folder, seeds={"plan": job.seed})
    finally:
        client.close()
    seconds = time.monotonic() - started
    verdict = Verdict.passed(
        "up",
        f"{len(manifest.components)} components of the {job.plan.stack} stack up in {seconds:.0f} s",
        Evidence(description="start-up", source=folder.run_id, observed=seconds),
    )
    return [Judged(step="up", verdict=verdict, judged=f"the {job.plan.stack} stack")]


def smoke(job: Job, step: Step) -> list[Judged]:
    """Every component's readiness, then its health re-checked after start-up."""
    from stormcheck.local.engine import connect
    from stormcheck.local.platform import component_health
    from stormcheck.local.stacks import components_for, in_role

    folder = job.run_folder()
    manifest = folder.read_manifest()
    lines = [
        Judged(
            step="smoke",
            verdict=Verdict.passed(
                f"ready/{name}",
                f"ready after {record.ready_s:.1f} s",
                Evidence(
                    description="readiness check", source=record.container, observed=record.ready_s
                ),
            ),
            judged=f"readiness of {name}",
        )
        for name, record in manifest.components.items()
    ]
    checks = {
        c.name: in_role(c) for c in components_for(manifest.stack, only=tuple(manifest.components))
    }
    client = connect()
    try:
        for health in component_health(client, manifest, checks):
            make = Verdict.passed if health.healthy else Verdict.failed
            verdict = make(
                f"healthy/{health.name}",
                f"{health.state}: {health.detail}",
                Evidence(description="re-check after start-up", source=health.name),
            )
            lines.append(Judged(step="smoke", verdict=verdict, judged=f"health of {health.name}"))
    finally:
        client.close()
    return lines


def down(job: Job, step: Step) -> list[Judged]:
    """Keep the run's evidence, then remove its containers, network and volumes (no lines).

    As ``stormcheck down``: the Prometheus data and log documents are saved into the run folder
    first (unless the report step kept them), so ``stormcheck gate --run`` and ``stormcheck
    report`` still work on the run later.
    """
    from stormcheck.local.session import bring_down
    from stormcheck.reports.retention import retain_before_down

    if job.folder is None:
        return []
    job.cleanups.close()  # the sink and anything else hosted for the run
    if not job.evidence_kept:
        retain_before_down(job.folder, progress=job.display.line)
    removed = bring_down(job.settings, job.folder)
    job.display.line(f"run {job.folder.run_id} is down ({len(removed)} resources removed)")
    return []


# -- load and calibration --------------------------------------------------------------------


def _capacity(job: Job, folder: RunFolder) -> float:
    """The run's calibrated capacity: kept for the same images in the run store, or measured."""
    from stormcheck.load.calibrate import SETTLE_AFTER_S, calibrate, store_calibration
    from stormcheck.load.scenarios import load_target, scenario
    from stormcheck.runs import CalibrationRecord
    from stormcheck.runstore import images_key, open_store

    if job.capacity_rps is not None:
        return job.capacity_rps
    manifest = folder.read_manifest()
    component, endpoint = load_target(scenario("shop-open"), manifest.components)
    key = images_key(dict(manifest.provenance.image_ids))
    with open_store(job.runs_dir) as store:
        kept = store.calibration(key)
    if kept is not None and kept.component == component:
        manifest.update(component, calibration=CalibrationRecord.from_dict(kept.record))
        folder.write_manifest(manifest)
        job.display.line(
            f"calibration: {kept.rate_rps:g} arrivals/s through {component}, measured by run"
            f" {kept.run_id} on the same images; reused"
        )
        job.capacity_rps = kept.rate_rps
        return kept.rate_rps
    job.display.line(f"calibration: measuring {component} (the images have no stored capacity)")
    result = calibrate(
        manifest.endpoint(component, endpoint),
        folder.root / "calibration",
        progress=job.display.line,
    )
    store_calibration(folder, component, result)
    if result.rate <= 0:
        raise StormcheckError(f"calibration: {component} sustained no rate at all")
    with open_store(job.runs_dir) as store:
        store.keep_calibration(key, folder.run_id, component, result.to_dict())
    job.display.line(
        f"calibration: {result.rate:g} arrivals/s; {SETTLE_AFTER_S:g} s for its overload to leave"
        " the SLO windows"
    )
    time.sleep(SETTLE_AFTER_S)
    job.capacity_rps = result.rate
    return result.rate


@contextlib.contextmanager
def _under_load(job: Job, folder: RunFolder, load: Load | None) -> Iterator[None]:
    from stormcheck.chaos.experiment import background_load

    if load is None:
        yield
        return
    rate = round(load.share * _capacity(job, folder), 1)
    job.display.line(f"load: {load.scenario} at {rate:g}/s ({load.share:.0%} of the capacity)")
    with background_load(folder, load.scenario, rate=rate, users=5, progress=job.display.line):
        time.sleep(LOAD_WARMUP_S)
        yield


# -- gate ------------------------------------------------------------------------------------


def gate(job: Job, step: Step) -> list[Judged]:
    """Every SLO of platform/slo/ over ``window`` under the step's load, as ``stormcheck gate``."""
    from stormcheck.clients.prometheus import PrometheusClient
    from stormcheck.logstore.backends import connect as connect_logs
    from stormcheck.slo.coverage import DataKind, await_coverage
    from stormcheck.slo.evaluate import evaluate_all, gate_verdict
    from stormcheck.slo.loader import read_slos, slo_files
    from stormcheck.slo.log_sli import LogRatioSli
    from stormcheck.slo.run_verdicts import record_gate
    from stormcheck.verdict import gate_exit_code

    folder = job.run_folder()
    window_s = step.window_s or 60
    slos = read_slos(slo_files([project_root() / "platform" / "slo"]))
    with _under_load(job, folder, step.load):
        start = now_ms()
        job.display.line(f"gate: judging a {window_s} s window under load")
        time.sleep(window_s)
        window = Window(start, now_ms())
    manifest = folder.read_manifest()
    logs = {}
    if "opensearch" in manifest.components:
        backends = {s.sli.backend for s in slos if isinstance(s.sli, LogRatioSli)}
        logs = {b: connect_logs(b, manifest.endpoint("opensearch")) for b in backends}
    try:
        with PrometheusClient(manifest.endpoint("prometheus")) as prometheus:
            for coverage in await_coverage(slos, window, prometheus, logs, kind=DataKind.LIVE):
                job.display.line(f"coverage: {coverage.describe(window)}")
            verdicts = evaluate_all(slos, window, prometheus, logs=logs)
    finally:
        for store in logs.values():
            store.close()
    overall = gate_verdict(verdicts)
    code = gate_exit_code(overall)
    record_gate(folder, verdicts, overall, exit_code=code, window=window)
    return [Judged.of("gate", v, f"SLO over {window.seconds:.0f} s under load") for v in verdicts]


# -- experiments -----------------------------------------------------------------------------


def _expectations(job: Job) -> Expectations:
    from stormcheck.judge import read_expectations

    if job.expectations is None:
        job.expectations = read_expectations()
    return job.expectations


def _experiment_path(stem: str, folder: Path = EXPERIMENTS_DIR) -> Path:
    path = project_root() / folder / f"{stem}.yaml"
    if not path.is_file():
        raise ConfigError(f"experiment {stem!r}: no file {path}")
    return path


def _watch_fault(job: Job, folder: RunFolder, experiment: str) -> Callable[[str], None]:
    """A progress callback that also shows the experiment's fault window from the timeline."""
    began = now_ms()

    def progress(text: str) -> None:
        job.display.line(f"  {text}")
        events = [e for e in folder.timeline.events() if e.at_ms >= began]
        starts = [e.at_ms for e in events if e.kind is EventKind.FAULT_START]
        ends = [e.at_ms for e in events if e.kind is EventKind.FAULT_END]
        if starts:
            job.display.fault_window(experiment, starts[0], ends[-1] if ends else None)

    job.display.fault_window(experiment, None, None)
    return progress


def catalogue(job: Job, step: Step) -> list[Judged]:
    """Each experiment of the step under load, judged against its row of the expected outcomes."""
    from stormcheck.chaos.experiment import run_experiment_file
    from stormcheck.judge import judge_on_run
    from stormcheck.load.calibrate import SETTLE_AFTER_S

    folder = job.run_folder()
    expectations = _expectations(job)
    named = step.experiment_list
    rows = (
        expectations.named(named)
        if named is not None
        else tuple(expectations.row(s) for s in step.experiments)
    )
    lines: list[Judged] = []
    ran: list[tuple[Row, ExperimentRun]] = []
    # The load runs through the whole list; it is judged once the load has stopped, when its
    # request log is complete (the generator writes it in blocks, flushed when it stops).
    with _under_load(job, folder, step.load):
        for index, row in enumerate(rows, 1):
            if job.remaining_s() <= 0:
                lines.append(
                    _unmeasured(
                        "catalogue",
                        f"{row.experiment}/not-run",
                        f"experiment {row.experiment}",
                        f"not run: the step's budget of {step.budget_s} s was spent",
                    )
                )
                continue
            job.display.line(f"experiment {index}/{len(rows)}: {row.experiment}")
            variables = dict(row.smoke) if named == "smoke" else {}
            experiment = run_experiment_file(
                _experiment_path(row.experiment),
                folder,
                job.settings,
                variables=variables,
                seed=job.seed,
                ready_wait_s=SETTLE_AFTER_S,  # the one before may still be in the probes' window
                progress=_watch_fault(job, folder, row.experiment),
            )
            _raise_if_interrupted(experiment)
            ran.append((row, experiment))
    for row, experiment in ran:
        result = judge_on_run(folder, experiment, row, expectations=expectations)
        job.results.append(result)
        job.display.line(result.explain())
        for check in result.checks:
            lines.append(
                Judged(
                    step="catalogue",
                    verdict=check.verdict,
                    judged=f"experiment {row.experiment}",
                    allowed=frozenset(check.allowed),
                    budget_spent=next(
                        (
                            e.budget_spent
                            for e in check.verdict.evidence
                            if e.budget_spent is not None
                        ),
                        None,
                    ),
                    detect_s=result.detect_s,
                    recover_s=result.recover_s,
                )
            )
    return lines


def canary(job: Job, step: Step) -> list[Judged]:
    """The canary: its planted breach must be aborted by the stop conditions, the diff empty."""
    from stormcheck.chaos.experiment import run_experiment_file

    folder = job.run_folder()
    (stem,) = step.experiments
    judged = f"canary {stem}"
    try:
        path = _experiment_path(stem, CANARY_DIR)
    except ConfigError as exc:
        return [_unmeasured("canary", f"{stem}/aborted", judged, f"not run: {exc}")]
    with _under_load(job, folder, step.load):
        ran = run_experiment_file(
            path, folder, job.settings, seed=job.seed, progress=_watch_fault(job, folder, stem)
        )
    _raise_if_interrupted(ran)
    journal = ran.reading
    aborted = ran.stopped if ran.stopped and not ran.stopped.startswith("kill switch") else None
    abort_verdict = (
        Verdict.passed(
            f"{stem}/aborted",
            f"the stop conditions aborted the planted breach: {aborted}",
            Evidence(description="journal", source=str(ran.journal_path)),
        )
        if aborted
        else Verdict.failed(
            f"{stem}/aborted",
            f"the planted breach was not aborted by a stop condition (journal"
            f" {journal.outcome.value}{'; ' + ran.stopped if ran.stopped else ''})",
            Evidence(description="journal", source=str(ran.journal_path)),
        )
    )
    diff_verdict = (
        Verdict.failed(
            f"{stem}/snapshot-diff",
            f"{len(ran.diff)} change(s) left behind: " + "; ".join(ran.diff),
            Evidence(description="state snapshot before and after", source=str(ran.journal_path)),
        )
        if ran.diff
        else Verdict.passed(
            f"{stem}/snapshot-diff",
            "the snapshot after the canary equals the one before",
            Evidence(description="state snapshot before and after", source=str(ran.journal_path)),
        )
    )
    return [
        Judged(step="canary", verdict=abort_verdict, judged=judged),
        Judged(step="canary", verdict=diff_verdict, judged=judged),
    ]


def _raise_if_interrupted(ran: ExperimentRun) -> None:
    """The experiment's signal guard took Ctrl-C to play the rollbacks; the job stops now."""
    if ran.signal is not None:
        raise KeyboardInterrupt


# -- report ----------------------------------------------------------------------------------


def report(job: Job, step: Step) -> list[Judged]:
    """The Allure results, HTML report and Markdown summary of the run (no verdict of its own),
    with the trend across this plan's runs: the run is recorded in the run store first."""
    from stormcheck.reports.html import build_report
    from stormcheck.reports.retention import retain_before_down
    from stormcheck.reports.trend import TrendSource
    from stormcheck.settings import describe_settings
    from stormcheck.tools import install_tool

    folder = job.run_folder()
    base = job.runs_dir.parent
    allure = install_tool("allure", job.settings.cache_dir) / "allure"
    # The evidence is kept now, while the run is up: the report's log-line samples are drawn from
    # the kept documents, and the down step need not keep it again.
    job.evidence_kept = retain_before_down(folder, progress=job.display.line) is not None
    try:
        scored = job.score()
    except ConfigError:
        scored = None  # the run's end says why it has no score
    paths = build_report(
        folder,
        results_dir=base / "allure-results",
        report_dir=base / "allure-report",
        allure=allure,
        settings=describe_settings(job.settings),
        trend=TrendSource(
            runs_dir=job.runs_dir,
            plan=job.plan.name,
            score=None if scored is None else scored.value,
        ),
    )
    job.report = None if paths.report is None else paths.report / "index.html"
    job.display.line(f"report: {job.report or paths.summary}")
    return []


STEPS: dict[str, StepFunction] = {
    "up": up,
    "smoke": smoke,
    "gate": gate,
    "catalogue": catalogue,
    "canary": canary,
    "report": report,
    "down": down,
}
"""Each step kind of a plan file and the function that runs it."""
