"""The HTML report of a run: Allure results, categories, environment, history, and Allure 2.

:func:`build_report` reads the whole run folder first (so bad input changes nothing), then
replaces the run's results folder ``<results_dir>/<run id>/`` with fresh results, copies the
project's ``reports/categories.json`` into it with ``environment.properties`` and
``executor.json``, carries ``history/`` over from the previous report, runs ``allure generate``
(the pinned Allure 2, on Java 17) into ``report_dir``, and writes the Markdown summary beside it.
Given a :class:`~stormcheck.reports.trend.TrendSource`, the run is recorded in that run store and
its trend across runs is added (:mod:`stormcheck.reports.trend`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.paths import project_root
from stormcheck.reports.evidence import read_run
from stormcheck.reports.redact import redact_text
from stormcheck.reports.results import Result, run_results, write_results
from stormcheck.reports.summary import markdown_summary
from stormcheck.reports.trend import TREND_STEM, TrendSource, trend_lines, trend_result
from stormcheck.runs import RunFolder
from stormcheck.timeline import now_ms

__all__ = [
    "ReportPaths",
    "build_report",
    "categories_path",
    "generate_html",
    "write_results_folder",
]


def categories_path(root: Path | None = None) -> Path:
    """The project's failure categories (Allure's ``categories.json``)."""
    return (root or project_root()) / "reports" / "categories.json"


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """What :func:`build_report` wrote."""

    results: Path
    report: Path | None
    summary: Path
    plots: Path
    statuses: Mapping[str, int]


def _environment(folder: RunFolder, settings: Mapping[str, str]) -> str:
    manifest = folder.read_manifest()
    values = {
        "run": folder.run_id,
        "profile": manifest.profile,
        "stack": manifest.stack,
        "git_commit": manifest.provenance.git_commit or "unknown",
        **{f"setting.{k}": v for k, v in sorted(settings.items()) if v},
    }
    lines = []
    for key, value in values.items():
        text = redact_text(str(value)).replace("\\", "\\\\").replace("\n", " ")
        lines.append(f"{key}={text}")
    return "\n".join(lines) + "\n"


def write_results_folder(
    folder: RunFolder,
    results_dir: Path,
    *,
    settings: Mapping[str, str],
    report_url: str = "",
    trend: TrendSource | None = None,
) -> tuple[Path, Path, dict[str, int], str]:
    """Read the run, then write its Allure results; returns (results, plots, statuses, summary).

    With ``trend``, the run is recorded in that run store and a trend result (plot across the
    runs before it and this one) is written beside the run's results; it is no verdict, so it is
    not counted in ``statuses`` nor listed in the summary's table.
    """
    evidence = read_run(folder)  # everything read (and checked) before anything is written
    categories = categories_path()
    try:
        json.loads(categories.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{categories}: expected Allure categories as a JSON list ({exc})"
        ) from None
    target = results_dir / folder.run_id
    staging = results_dir / f".{folder.run_id}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    plots = staging / "plots"
    history = None if trend is None else trend.read(folder)
    summary_trend: list[str] = []
    try:
        results = run_results(evidence, plots)
        extra: tuple[Result, ...] = ()
        if history is not None:
            if history.points:
                extra = (trend_result(history, plots, profile=evidence.manifest.profile),)
                png = Path("plots") / f"{TREND_STEM}.png"
                summary_trend = trend_lines(history, png)
            else:
                summary_trend = trend_lines(history, None)
        write_results((*results, *extra), staging, container=f"run {folder.run_id}")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.copyfile(categories, staging / "categories.json")
    (staging / "environment.properties").write_text(
        _environment(folder, settings), encoding="utf-8"
    )
    executor = {
        "name": "stormcheck",
        "type": "stormcheck",
        "buildName": f"run {folder.run_id}",
        "buildOrder": now_ms(),
        "reportName": f"stormcheck run {folder.run_id}",
        "reportUrl": report_url,
    }
    (staging / "executor.json").write_text(json.dumps(executor, indent=1) + "\n", encoding="utf-8")
    summary = markdown_summary(
        evidence, results, report_link=report_url or None, trend=summary_trend
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return target, target / "plots", statuses, summary


def generate_html(allure: Path, results: Path, report_dir: Path) -> None:
    """``allure generate`` of ``results`` into ``report_dir``, history carried from the last one."""
    history = report_dir / "history"
    if history.is_dir():
        shutil.rmtree(results / "history", ignore_errors=True)
        shutil.copytree(history, results / "history")
    staging = report_dir.with_name(f".{report_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        completed = subprocess.run(
            [str(allure), "generate", "--clean", "-o", str(staging), str(results)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except OSError as exc:
        raise StormcheckError(
            f"{allure}: cannot run ({exc.strerror}); is Java 17 installed?"
        ) from None
    if completed.returncode != 0 or not (staging / "index.html").is_file():
        tail = (completed.stderr or completed.stdout).strip()[-600:]
        raise StormcheckError(f"allure generate failed (exit {completed.returncode}): {tail}")
    shutil.rmtree(report_dir, ignore_errors=True)
    staging.rename(report_dir)


def build_report(
    folder: RunFolder,
    *,
    results_dir: Path,
    report_dir: Path,
    allure: Path | None,
    settings: Mapping[str, str],
    trend: TrendSource | None = None,
) -> ReportPaths:
    """Results, HTML (when ``allure`` is given) and the Markdown summary of one run (with the
    trend across runs from ``trend``'s run store, when given)."""
    report_url = str((report_dir / "index.html").resolve()) if allure is not None else ""
    results, plots, statuses, summary = write_results_folder(
        folder, results_dir, settings=settings, report_url=report_url, trend=trend
    )
    if allure is not None:
        generate_html(allure, results, report_dir)
    summary_path = results / "summary.md"
    summary_path.write_text(summary, encoding="utf-8")
    return ReportPaths(
        results=results,
        report=report_dir if allure is not None else None,
        summary=summary_path,
        plots=plots,
        statuses=statuses,
    )
