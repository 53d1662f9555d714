"""SLO-style thresholds over a request log, judged as verdicts.

The same code judges a run inside the Locust process (at quit, to set its exit code, so that a
plain ``locust -f load/shop.py --headless`` is a gate) and in the engine afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stormcheck.load.analysis import summarise
from stormcheck.load.request_records import RequestRecord
from stormcheck.verdict import Evidence, Verdict, Window, combine

__all__ = ["LATENCY_CHECKS", "Thresholds", "judge_requests", "threshold_checks"]

LATENCY_CHECKS = frozenset({"p95 latency ms", "p99 latency ms"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """What a run must meet: error ratio, latency percentiles (from intended send time), volume."""

    max_error_ratio: float = 0.01
    p95_ms: float | None = 500.0
    p99_ms: float | None = 1000.0
    min_requests: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.max_error_ratio <= 1:
            raise ValueError(f"max_error_ratio {self.max_error_ratio} is not in [0, 1]")
        for label, value in (("p95_ms", self.p95_ms), ("p99_ms", self.p99_ms)):
            if value is not None and not value > 0:
                raise ValueError(f"{label} {value} is not > 0")
        if self.min_requests < 1:
            raise ValueError(f"min_requests {self.min_requests} is not >= 1")


def judge_requests(
    records: Sequence[RequestRecord], thresholds: Thresholds, *, source: str
) -> Verdict:
    """The combined verdict of every threshold over ``records`` (``source``: the log's path).

    Too few requests to judge is ``inconclusive``, not a pass.
    """
    return combine("load thresholds", threshold_checks(records, thresholds, source=source))


def threshold_checks(
    records: Sequence[RequestRecord], thresholds: Thresholds, *, source: str
) -> list[Verdict]:
    """One verdict per threshold (names: ``error ratio`` and :data:`LATENCY_CHECKS`)."""
    if len(records) < thresholds.min_requests:
        return [
            Verdict.inconclusive(
                "request count",
                f"{len(records)} requests in the log, fewer than the {thresholds.min_requests} needed to judge",
                Evidence(description="request count", source=source, observed=float(len(records))),
            )
        ]
    summary = summarise(records)
    window = Window(
        int(min(r.intended_ms for r in records)), int(max(r.end_ms for r in records)) + 1
    )
    details = summary.to_dict()
    checks = [
        _at_most(
            "error ratio",
            observed=summary.error_ratio,
            limit=thresholds.max_error_ratio,
            what=f"{summary.failures} of {summary.count} requests failed",
            source=source,
            window=window,
            details=details,
        )
    ]
    for label, observed, limit in (
        ("p95 latency ms", summary.p95, thresholds.p95_ms),
        ("p99 latency ms", summary.p99, thresholds.p99_ms),
    ):
        if limit is not None:
            checks.append(
                _at_most(
                    label,
                    observed=observed,
                    limit=limit,
                    what=f"{label} {observed:.1f} (from intended send time)",
                    source=source,
                    window=window,
                    details=details,
                )
            )
    return checks


def _at_most(
    label: str,
    *,
    observed: float,
    limit: float,
    what: str,
    source: str,
    window: Window,
    details: dict[str, float | int | str],
) -> Verdict:
    evidence = Evidence(
        description=label,
        source=source,
        window=window,
        observed=observed,
        objective=limit,
        details=details,
    )
    if observed <= limit:
        return Verdict.passed(label, f"{what} <= {limit:g}", evidence)
    return Verdict.failed(label, f"{what} > {limit:g}", evidence)
