"""What a plan's run measured, beside what was expected, and the exit code that follows.

Every verdict of a run becomes a :class:`Judged` line: the step it came from, what it judged (an
SLO over a window, an experiment's check, a component's readiness), the raw outcome and the set
of outcomes the platform is expected to give. A row whose expected outcome is ``fail`` (e.g.
+300 ms to PostgreSQL breaks the checkout latency SLO) is met when it fails; so is the canary's
planted breach when the stop conditions abort it.

Exit codes (:func:`exit_code`): 0 every line met; 1 a line was measured outside its expected set;
2 nothing definitive was missed but something could not be measured (inconclusive, or a step
whose engine could not run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stormcheck.verdict import Outcome, Verdict

__all__ = ["EXIT_MET", "EXIT_NOT_MEASURED", "EXIT_NOT_MET", "ONLY_PASS", "Judged", "exit_code"]

EXIT_MET = 0
EXIT_NOT_MET = 1
EXIT_NOT_MEASURED = 2
ONLY_PASS = frozenset({Outcome.PASS})


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    """One verdict of the run beside its expectation."""

    step: str  # the plan step that produced it (``gate``, ``catalogue``, ...)
    verdict: Verdict
    judged: str  # what it judged, for the summary ("SLO shop-availability over 60 s")
    allowed: frozenset[Outcome] = ONLY_PASS
    budget_spent: float | None = None
    detect_s: float | None = None
    recover_s: float | None = None

    @property
    def met(self) -> bool:
        """Whether the raw outcome is one of the expected ones."""
        return self.verdict.outcome in self.allowed

    @property
    def expected(self) -> str:
        """The expected outcomes, as the summary prints them (``pass``, ``fail|inconclusive``)."""
        return "|".join(sorted(o.value for o in self.allowed))

    def line(self) -> str:
        """One plain line: met or not, what was judged, raw outcome beside the expectation."""
        mark = "met " if self.met else "MISS"
        return (
            f"{mark} {self.step}: {self.verdict.name} ({self.judged}):"
            f" {self.verdict.outcome.value} (expected {self.expected}) - {self.verdict.reason}"
        )

    @classmethod
    def of(
        cls,
        step: str,
        verdict: Verdict,
        judged: str,
        allowed: frozenset[Outcome] = ONLY_PASS,
    ) -> Judged:
        """A line for ``verdict``, with the budget spent of its first evidence that has one."""
        budget = next(
            (e.budget_spent for e in verdict.evidence if e.budget_spent is not None), None
        )
        return cls(step=step, verdict=verdict, judged=judged, allowed=allowed, budget_spent=budget)


def exit_code(lines: Iterable[Judged]) -> int:
    """0 all met; 1 a definitive verdict outside its expectation; 2 otherwise not measured.

    Nothing judged at all is 2: a run that measured nothing must not pass.
    """
    items = list(lines)
    if not items:
        return EXIT_NOT_MEASURED
    missed = [j for j in items if not j.met]
    if any(j.verdict.outcome is not Outcome.INCONCLUSIVE for j in missed):
        return EXIT_NOT_MET
    return EXIT_NOT_MEASURED if missed else EXIT_MET
