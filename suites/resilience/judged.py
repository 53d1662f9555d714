"""What every judged experiment of the resilience suites must show."""

from __future__ import annotations

from stormcheck.chaos.experiment import ExperimentRun
from stormcheck.chaos.journal import ExperimentOutcome
from stormcheck.judge import ResilienceResult

__all__ = ["assert_judged"]


def assert_judged(judged: tuple[ExperimentRun, ResilienceResult], rate: float) -> None:
    """The experiment ran to its end (held or deviated), left nothing changed, and its result is
    met: every verdict within its row's allowed set, integrity held."""
    run, result = judged
    context = f"under {rate:g} arrivals/s\n{result.explain()}"
    # never not ready, a probe that could not measure, or an action or rollback that failed
    assert run.reading.outcome in (ExperimentOutcome.HELD, ExperimentOutcome.DEVIATED), (
        f"{run.explain()}\n{context}"
    )
    assert run.diff == (), run.explain()
    integrity = [c for c in result.checks if c.verdict.name.endswith("/integrity")]
    assert integrity and integrity[0].met, context
    assert result.met, context
