"""Capacity calibration: the arrival rate the running platform sustains within its thresholds.

Open-model steps at rising rates (doubling, then bisecting between the last rate that held and
the first that did not). A step holds when its request log meets the thresholds and the generator
kept the schedule (achieved rate within 5 % of the target, schedule lag p99 <= 50 ms) without running above 80 % of its CPU
budget. The result is stored in the run file, under the target component's ``calibration``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormcheck.load.analysis import arrival_rate, schedule_lag_p99, summarise
from stormcheck.load.cpu import BUSY_SHARE, CpuBudget
from stormcheck.load.request_records import read_request_log
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import SCENARIOS
from stormcheck.load.thresholds import Thresholds
from stormcheck.runs import CalibrationRecord, RunFolder
from stormcheck.timeline import now_ms
from stormcheck.verdict import Outcome

__all__ = [
    "MAX_LAG_P99_MS",
    "SETTLE_AFTER_S",
    "Calibration",
    "Step",
    "calibrate",
    "read_capacity",
    "store_calibration",
]

MAX_LAG_P99_MS = 50.0  # beyond this the generator, not the platform, sets the pace
# Calibration ends by overloading the platform on purpose. Judging the SLOs right after it would
# count that overload: wait out the experiments' steady-state window (slo_window_s, 30 s) and one
# scrape (5 s) before anything is judged.
SETTLE_AFTER_S = 35.0
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One rate tried, and what it came to."""

    rate: float
    held: bool
    achieved_rate: float
    p95_ms: float
    error_ratio: float
    cpu_peak_share: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "rate": self.rate,
            "held": self.held,
            "achieved_rate": round(self.achieved_rate, 3),
            "p95_ms": round(self.p95_ms, 3),
            "error_ratio": round(self.error_ratio, 5),
            "cpu_peak_share": round(self.cpu_peak_share, 4),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """The highest rate that held (0 if none did), how it was found, and what bounded it."""

    rate: float
    steps: tuple[Step, ...]
    thresholds: Thresholds
    step_s: float
    budget: CpuBudget
    at_ms: int = field(default_factory=now_ms)
    bounded_by_generator: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the run file."""
        return {
            "rate_rps": self.rate,
            "at_ms": self.at_ms,
            "step_s": self.step_s,
            "bounded_by_generator": self.bounded_by_generator,
            "generator_budget_cores": self.budget.cores,
            "thresholds": {
                "max_error_ratio": self.thresholds.max_error_ratio,
                "p95_ms": self.thresholds.p95_ms,
                "p99_ms": self.thresholds.p99_ms,
            },
            "steps": [s.to_dict() for s in self.steps],
        }


def _step(
    host: str, rate: float, *, step_s: float, thresholds: Thresholds, budget: CpuBudget, out: Path
) -> Step:
    plan = LoadPlan(
        scenario=SCENARIOS["shop-open"],
        host=host,
        duration_s=step_s,
        rate=rate,
        thresholds=thresholds,
        budget=budget,
    )
    result = run_load(plan, out / f"rate-{rate:g}")
    if result.interrupted:
        # the runner took the Ctrl-C to stop Locust cleanly; the calibration stops with it
        raise KeyboardInterrupt
    try:
        records = read_request_log(result.request_log)
        summary = summarise(records)
        achieved = arrival_rate(records, basis="sent")
        lag_p99 = schedule_lag_p99(records)
    except ValueError:
        return Step(
            rate=rate,
            held=False,
            achieved_rate=0.0,
            p95_ms=0.0,
            error_ratio=1.0,
            cpu_peak_share=result.cpu.peak_share,
            reason="no requests measured",
        )
    reasons = []
    if result.verdict.outcome is Outcome.FAIL:
        reasons.append(result.verdict.reason)
    if achieved < 0.95 * rate:
        reasons.append(f"achieved {achieved:.1f}/s of {rate:g}/s")
    if lag_p99 > MAX_LAG_P99_MS:
        reasons.append(f"schedule lag p99 {lag_p99:.0f} ms > {MAX_LAG_P99_MS:g} ms")
    if result.cpu.peak_share > BUSY_SHARE:
        reasons.append(f"generator at {result.cpu.peak_share:.0%} of its CPU budget")
    return Step(
        rate=rate,
        held=not reasons,
        achieved_rate=achieved,
        p95_ms=summary.p95,
        error_ratio=summary.error_ratio,
        cpu_peak_share=result.cpu.peak_share,
        reason="; ".join(reasons) or "held",
    )


def calibrate(
    host: str,
    out: Path,
    *,
    thresholds: Thresholds | None = None,
    start_rate: float = 10.0,
    max_rate: float = 1000.0,
    step_s: float = 10.0,
    refinements: int = 2,
    budget: CpuBudget | None = None,
    progress: Progress = lambda _line: None,
) -> Calibration:
    """Find the highest arrival rate ``host`` sustains; steps' files go under ``out``."""
    thresholds = thresholds or Thresholds(max_error_ratio=0.01, p95_ms=250.0, p99_ms=1000.0)
    budget = budget or CpuBudget()
    steps: list[Step] = []

    def attempt(rate: float) -> Step:
        step = _step(host, rate, step_s=step_s, thresholds=thresholds, budget=budget, out=out)
        steps.append(step)
        progress(
            f"rate {rate:g}/s: {'held' if step.held else 'did not hold'} "
            f"(achieved {step.achieved_rate:.1f}/s, p95 {step.p95_ms:.1f} ms, "
            f"errors {step.error_ratio:.2%}, generator CPU {step.cpu_peak_share:.0%}) {step.reason}"
        )
        return step

    held, failed = 0.0, None
    rate = start_rate
    while rate <= max_rate:
        # The lowest rate is tried twice before the platform is said to sustain nothing: one step
        # disturbed by another process (its schedule lag, not the platform) must not decide that.
        if attempt(rate).held or (not steps[:-1] and attempt(rate).held):
            held, rate = rate, rate * 2
        else:
            failed = rate
            break
    for _ in range(refinements if failed is not None and held else 0):
        middle = round((held + failed) / 2, 1) if failed is not None else held
        if middle in {held, failed}:
            break
        if attempt(middle).held:
            held = middle
        else:
            failed = middle
    last = next((s for s in reversed(steps) if s.rate == failed), None)
    return Calibration(
        rate=held,
        steps=tuple(steps),
        thresholds=thresholds,
        step_s=step_s,
        budget=budget,
        bounded_by_generator=last is not None and last.cpu_peak_share > BUSY_SHARE,
    )


def store_calibration(folder: RunFolder, component: str, calibration: Calibration) -> None:
    """Record ``calibration`` in the run file, in ``component``'s record."""
    manifest = folder.read_manifest()
    manifest.update(component, calibration=CalibrationRecord.from_dict(calibration.to_dict()))
    folder.write_manifest(manifest)


def read_capacity(folder: RunFolder, component: str) -> float | None:
    """The calibrated rate of ``component`` in this run (None if it was never calibrated)."""
    record = folder.read_manifest().components.get(component)
    return None if record is None or record.calibration is None else record.calibration.rate_rps
