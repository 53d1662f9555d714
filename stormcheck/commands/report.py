"""``stormcheck report [RUN] [--open]``: the Allure report and the Markdown summary of a run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.errors import RunNotFoundError
from stormcheck.runs import RunFolder, find_run, list_runs
from stormcheck.settings import describe_settings
from stormcheck.tools import install_tool

__all__ = ["COMMANDS"]


def _folder(runs_dir: Path, run_id: str | None) -> RunFolder:
    if run_id is not None:
        return find_run(runs_dir, run_id)
    runs = list_runs(runs_dir)
    if not runs:
        raise RunNotFoundError(f"no run folder under {runs_dir}; name a run or start one")
    return runs[-1]


@click.command()
@click.argument("run_id", metavar="[RUN]", required=False)
@click.option("--open", "open_", is_flag=True, help="Serve the report and open it in a browser.")
@click.option("--no-html", is_flag=True, help="Only the Allure results and the Markdown summary.")
@pass_state
def report(state: CliState, run_id: str | None, open_: bool, no_html: bool) -> None:
    """Write the Allure results, HTML report and Markdown summary of RUN (default: the newest).

    Results go to reports/allure-results/<run>/, the HTML report to reports/allure-report/
    (history carried from the previous one); the Markdown summary is printed on stdout. The run
    is recorded in the run store, and the report shows the trend of the runs before it.
    """
    from stormcheck.reports.html import build_report
    from stormcheck.reports.trend import TrendSource

    settings = state.settings()
    folder = _folder(settings.runs_dir, run_id)
    base = settings.runs_dir.parent
    allure = None if no_html else install_tool("allure", settings.cache_dir) / "allure"
    paths = build_report(
        folder,
        results_dir=base / "allure-results",
        report_dir=base / "allure-report",
        allure=allure,
        settings=describe_settings(settings),
        trend=TrendSource(runs_dir=settings.runs_dir),
    )
    counts = ", ".join(f"{n} {status}" for status, n in sorted(paths.statuses.items()))
    click.echo(f"run {folder.run_id}: {counts or 'no results'}", err=True)
    click.echo(f"results: {paths.results}", err=True)
    if paths.report is not None:
        click.echo(f"report: {paths.report / 'index.html'}", err=True)
    click.echo(f"summary: {paths.summary}", err=True)
    click.echo(paths.summary.read_text(encoding="utf-8"), nl=False)
    if open_ and allure is not None and paths.report is not None:
        subprocess.run([str(allure), "open", str(paths.report)], check=False)


COMMANDS = (report,)
