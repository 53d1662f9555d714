"""The closing summary of a plan's run: every verdict beside its expectation, then where things are.

A table (rich on a terminal, plain lines otherwise) with one row per judged verdict — what it
judged, the raw outcome, the expected outcomes, the error budget spent, detect and recover times
— then each step's time against its budget, the resilience score, the HTML report and the run
folder, and the exit code with its meaning.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from stormcheck.jobs.outcome import EXIT_MET, EXIT_NOT_MEASURED, EXIT_NOT_MET, Judged
from stormcheck.jobs.runner import JobResult

__all__ = ["EXIT_MEANINGS", "render_summary", "summary_lines"]

EXIT_MEANINGS = {
    EXIT_MET: "every verdict within its expected outcome",
    EXIT_NOT_MET: "a verdict outside its expected outcome",
    EXIT_NOT_MEASURED: "something could not be measured",
    130: "interrupted",
}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _budget(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _row(j: Judged) -> tuple[str, ...]:
    return (
        "met" if j.met else "MISS",
        j.step,
        j.verdict.name,
        j.judged,
        j.verdict.outcome.value,
        j.expected,
        _budget(j.budget_spent),
        _seconds(j.detect_s),
        _seconds(j.recover_s),
    )


_HEADERS = ("", "step", "verdict", "judged", "raw", "expected", "budget", "detect", "recover")


def _closing(result: JobResult) -> list[str]:
    lines = []
    for step in result.steps:
        took = "not started" if step.seconds is None else f"{step.seconds:.0f} s"
        over = " OVER BUDGET" if step.over_budget else ""
        error = f" ({step.error})" if step.error else ""
        lines.append(f"step {step.kind:9} {took:>12} of {step.budget_s} s{over}{error}")
    if result.score:
        lines.extend(result.score.splitlines())
    else:
        lines.append("resilience score: none (no experiment was judged)")
    lines.append(f"HTML report: {result.report or 'not built'}")
    lines.append(f"run folder:  {result.folder.root if result.folder else 'none (not started)'}")
    code = result.exit_code
    lines.append(
        f"plan {result.plan.name}: exit {code} ({EXIT_MEANINGS.get(code, '?')})"
        f" after {result.seconds:.0f} s"
    )
    return lines


def summary_lines(result: JobResult) -> list[str]:
    """The summary as plain lines (logs)."""
    lines = [j.line() for j in result.lines]
    for j in result.lines:
        if j.budget_spent is not None or j.detect_s is not None:
            lines.append(
                f"     {j.verdict.name}: budget spent {_budget(j.budget_spent)},"
                f" detect {_seconds(j.detect_s)}, recover {_seconds(j.recover_s)}"
            )
    return [*lines, *_closing(result)]


def render_summary(result: JobResult, stream: TextIO) -> None:
    """Write the summary to ``stream``: a table on a terminal, plain lines otherwise."""
    if not stream.isatty():
        for line in summary_lines(result):
            stream.write(line + "\n")
        stream.flush()
        return
    console = Console(file=stream)
    table = Table(title=f"plan {result.plan.name}: verdicts beside their expectations")
    for header in _HEADERS:
        table.add_column(header, overflow="fold")
    for j in result.lines:
        style = None if j.met else "bold red"
        table.add_row(*_row(j), style=style)
    console.print(table)
    for line in _closing(result):
        console.print(line, highlight=False)
