"""What every judged experiment of the resilience suites must show, and the pieces their tests
share: a minimal expectations file and the orders a correct database holds for a request log."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stormcheck.chaos.experiment import ExperimentRun
from stormcheck.chaos.journal import ExperimentOutcome
from stormcheck.judge import ResilienceResult
from stormcheck.load.request_records import read_request_log

__all__ = ["MINIMAL_ROWS", "assert_judged", "correct_orders"]

# the smallest valid expected-outcomes file: one kill row `a`
MINIMAL_ROWS = """\
version: 1
lists: {smoke: [a], all: [a]}
weights: {a: 1}
rows:
  a:
    fault: kill
    journal: [held]
    slos:
      checkout-availability: {fault: [pass], recovery: [pass]}
    limits: {recover_s: 10}
    alerts: [InstanceDown]
    remediation: add replicas
    runbook: docs/runbooks/InstanceDown.md
"""


def correct_orders(
    log: Path, *, extra: Mapping[str, list[int]] | None = None
) -> Callable[[Sequence[str]], dict[str, list[int]]]:
    """The orders a correct database would hold for the log (one per definitive success), plus
    ``extra``, as the judge's orders lookup."""
    stored: dict[str, list[int]] = {}
    for record in read_request_log(log):
        attempt = record.checkout
        if attempt is not None and attempt.order_id is not None:
            stored[attempt.key] = [attempt.order_id]
    stored.update(extra or {})

    def lookup(keys: Sequence[str]) -> dict[str, list[int]]:
        return {k: v for k, v in stored.items() if k in set(keys)}

    return lookup


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
