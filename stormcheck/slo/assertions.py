"""Test-side helpers that need no pytest: an assertion whose failure message is the evidence."""

from __future__ import annotations

from collections.abc import Iterable

from stormcheck.verdict import Outcome, Verdict, combine

__all__ = ["assert_met"]


def assert_met(
    verdicts: Verdict | Iterable[Verdict], *, allow_inconclusive: bool = False
) -> Verdict:
    """Return the (combined) verdict when it passed; raise ``AssertionError`` with its evidence.

    An inconclusive verdict fails the assertion unless ``allow_inconclusive``: what could not be
    measured was not shown to be met.
    """
    items = (verdicts,) if isinstance(verdicts, Verdict) else tuple(verdicts)
    verdict = items[0] if len(items) == 1 else combine("SLOs", items)
    if verdict.outcome is Outcome.PASS:
        return verdict
    if verdict.outcome is Outcome.INCONCLUSIVE and allow_inconclusive:
        return verdict
    details = "\n".join(v.explain() for v in items) if items else verdict.explain()
    raise AssertionError(f"SLO not met ({verdict.outcome.value}): {verdict.reason}\n{details}")
