"""The Markdown summary of a run, for a pull-request comment.

One table: each experiment and SLO verdict with its status, the error budget it spent, the time
to detect and to recover, and links. Detection and recovery come from the judge's result when
the run has one; without it the time to the first alert the sink received after the fault start
is shown (marked ``sink``) and recovery is ``not judged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stormcheck.reports.evidence import ExperimentRecord, RunEvidence
from stormcheck.reports.redact import redact_text
from stormcheck.reports.results import Result

__all__ = ["markdown_summary"]

_ICON = {"passed": "✅ pass", "failed": "❌ fail", "broken": "⚠️ inconclusive", "skipped": "skipped"}


def _seconds(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f} s"


def _budget(spent: Any) -> str:
    if spent is None:
        return "—"
    if isinstance(spent, int | float):
        return f"{spent:.2%}"
    if isinstance(spent, Mapping):
        parts = []
        for key, value in sorted(spent.items()):
            worst = value
            if isinstance(value, Mapping):
                worst = max((v for v in value.values() if isinstance(v, int | float)), default=None)
            if isinstance(worst, int | float):
                parts.append(f"{key} {worst:.2%}")
        return ", ".join(parts) or "—"
    return "—"


def _detect(record: ExperimentRecord) -> str:
    if record.resilience is not None:
        return _seconds(record.resilience.get("detect_s"))
    after = [a for a in record.alerts if a.received_ms >= record.fault_window.start_ms]
    if not after:
        return "no alert"
    first = after[0]
    return f"{(first.received_ms - record.fault_window.start_ms) / 1000:.1f} s (sink: {first.name})"


def _recover(record: ExperimentRecord) -> str:
    if record.resilience is None:
        return "not judged"
    return _seconds(record.resilience.get("recover_s"))


def markdown_summary(
    evidence: RunEvidence,
    results: Sequence[Result],
    *,
    report_link: str | None = None,
    trend: Sequence[str] = (),
) -> str:
    """The summary of ``evidence`` (``results`` as :func:`run_results` made them, same order);
    ``trend``: lines about the trend across runs, placed before the link to the report."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    manifest = evidence.manifest
    lines = [
        f"## stormcheck run `{evidence.run_id}`",
        "",
        f"Profile `{manifest.profile}`, stack `{manifest.stack}`: "
        + (
            ", ".join(f"{n} {_ICON[s].split()[-1]}" for s, n in sorted(counts.items()))
            or "no results"
        ),
        "",
        "| check | verdict | budget spent | detect | recover | links |",
        "|---|---|---|---|---|---|",
    ]
    experiments = {f"resilience.{r.stem}": r for r in evidence.experiments}
    verdicts = {f"slo.{v.name}": v for v in evidence.verdicts}
    for result in results:
        links = " · ".join(f"[{link.name}]({link.url})" for link in result.links) or "—"
        record = experiments.get(result.full_name)
        if record is not None:
            spent = _budget((record.resilience or {}).get("budget_spent"))
            row = [
                result.name,
                _ICON[result.status],
                spent,
                _detect(record),
                _recover(record),
                links,
            ]
        else:
            verdict = verdicts[result.full_name]
            spent = _budget(
                max(
                    (e.budget_spent for e in verdict.evidence if e.budget_spent is not None),
                    default=None,
                )
            )
            row = [result.name, _ICON[result.status], spent, "—", "—", links]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    failing = [r for r in results if r.status != "passed"]
    if failing:
        lines += ["", "Why:"] + [f"- **{r.name}**: {r.message}" for r in failing]
    if trend:
        lines += ["", *trend]
    if report_link:
        lines += ["", f"Full report: {report_link}"]
    return redact_text("\n".join(lines) + "\n")
