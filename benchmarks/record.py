"""The one result format of ``make bench``: repetitions, medians and their ratio, in one file each.

``benchmarks/results/<UTC date>-<name>.json`` holds the subject's and the baseline's repetitions
(seconds), their medians, ``ratio`` = subject median / baseline median, and whatever else a
benchmark measured (targets, per-component figures, requests per second).
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["RESULTS", "record"]

RESULTS = Path(__file__).parent / "results"


def record(
    name: str,
    subject: list[float],
    baseline: list[float],
    note: str,
    *,
    summary: str = "",
    **extra: object,
) -> dict[str, object]:
    """Write the result file of benchmark ``name``, print one line about it, and return it."""
    result: dict[str, object] = {
        "name": name,
        "note": note,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subject_s": subject,
        "baseline_s": baseline,
        "subject_median_s": statistics.median(subject),
        "baseline_median_s": statistics.median(baseline),
        "ratio": statistics.median(subject) / statistics.median(baseline),
        **extra,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%d}-{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{name:14} subject {result['subject_median_s']:.3f} s"
        f"  baseline {result['baseline_median_s']:.3f} s  ratio {result['ratio']:.2f}"
        + (f"  {summary}" if summary else "")
        + f"  ({path.name})"
    )
    return result
