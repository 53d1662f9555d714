"""Reading the typed SLI evidence of a verdict in tests."""

from __future__ import annotations

from stormcheck.verdict import Evidence, SliEvidence

__all__ = ["counts", "sli"]


def sli(evidence: Evidence) -> SliEvidence:
    """The SLI evidence an SLO verdict carries (a test failure when it has none)."""
    assert evidence.sli is not None, f"no SLI evidence: {evidence}"
    return evidence.sli


def counts(evidence: Evidence) -> tuple[float, float]:
    """The good and total events counted (a test failure when they were not counted)."""
    measured = sli(evidence)
    assert measured.good is not None and measured.total is not None, measured
    return measured.good, measured.total
