"""The trend across runs: resilience score, error budget spent and recovery times, run by run.

The figures come from the run store (:meth:`stormcheck.runstore.RunStore.trend`): the reported
run is recorded in it first, then the newest runs of the same plan up to that run are read,
oldest first (every run of the store when the run has no plan). As with an experiment's plot,
:func:`trend_spec` is data — one point per run in every series, ``null`` where a run did not
measure it — and :func:`render_trend` draws exactly that: one figure, three panels sharing the
runs as their x axis, so one run's score, budget and recovery read down one column.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.reports.plots import write_spec_and_png
from stormcheck.reports.results import Result, plot_attachments, result_labels
from stormcheck.runs import RunFolder
from stormcheck.runstore import TrendPoint, open_store, store_path
from stormcheck.timeline import iso_ms

__all__ = [
    "TREND_FORMAT",
    "TREND_STEM",
    "History",
    "TrendSource",
    "render_trend",
    "trend_lines",
    "trend_result",
    "trend_spec",
    "write_trend",
]

TREND_FORMAT = 1
TREND_STEM = "trend"
GATE_SERIES = "SLOs of no experiment (gate)"


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """The runs a report's trend shows (oldest first), or why there are none."""

    run_id: str
    plan: str | None
    store: Path
    points: tuple[TrendPoint, ...]
    reason: str = ""

    @property
    def scope(self) -> str:
        """Which runs: ``plan quick`` or ``every plan``."""
        return f"plan {self.plan}" if self.plan else "every plan"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendSource:
    """Where a report's trend comes from: the run store of ``runs_dir``.

    :meth:`read` records the reported run in the store first (``plan`` and ``score`` when the plan
    runner knows them; otherwise what the store already kept), so the trend ends with it.
    """

    runs_dir: Path
    plan: str | None = None
    score: float | None = None
    limit: int = 20

    def read(self, folder: RunFolder) -> History:
        """The history up to the run in ``folder``; an unreadable store gives none, and why."""
        path = store_path(self.runs_dir)
        try:
            with open_store(self.runs_dir) as store:
                store.record(folder, plan=self.plan, score=self.score)
                plan = store.get(folder.run_id).plan
                points = store.trend(plan, self.limit, until=folder.run_id)
        except ConfigError as exc:  # names the store or the run's file
            # the trend is beside the run's verdicts: without it the report is still written
            return History(
                run_id=folder.run_id, plan=self.plan, store=path, points=(), reason=str(exc)
            )
        except (OSError, sqlite3.Error) as exc:
            return History(
                run_id=folder.run_id,
                plan=self.plan,
                store=path,
                points=(),
                reason=f"run store {path}: {exc}",
            )
        reason = "" if points else f"the run store {path} holds no run of plan {plan}"
        return History(
            run_id=folder.run_id, plan=plan, store=path, points=tuple(points), reason=reason
        )


def _label(point: TrendPoint) -> str:
    return f"{iso_ms(point.created_ms)[:16].replace('T', ' ')}\n{point.run_id.rsplit('-', 1)[-1]}"


def _series(
    name: str, points: Sequence[TrendPoint], values: Sequence[float | None]
) -> dict[str, Any]:
    return {
        "name": name,
        "points": [[p.run_id, v] for p, v in zip(points, values, strict=True)],
    }


def trend_spec(history: History) -> dict[str, Any]:
    """The specification of ``history``'s trend plot: data and labels, JSON-ready."""
    points = history.points
    if not points:
        raise ValueError(f"no run to plot: {history.reason}")
    experiments = sorted({e for p in points for e in p.recover_s})
    budgeted = sorted(
        {e for p in points for e in p.worst_budget}, key=lambda e: (e is not None, e or "")
    )

    def percent(value: float | None) -> float | None:
        return None if value is None else value * 100

    note = (
        f"one run of {history.scope} in the run store: nothing to compare it with yet"
        if len(points) == 1
        else None
    )
    return {
        "format": TREND_FORMAT,
        "kind": "trend",
        "run": history.run_id,
        "plan": history.plan,
        "title": f"trend across the last {len(points)} run(s) of {history.scope}, oldest first",
        "note": note,
        "runs": [
            {
                "run_id": p.run_id,
                "created_ms": p.created_ms,
                "created": iso_ms(p.created_ms),
                "label": _label(p),
            }
            for p in points
        ],
        "panels": [
            {
                "name": "score",
                "title": "resilience score: weighted share of experiments within their expected outcomes",
                "y_label": "score",
                "unit": "0-100",
                "series": [_series("score", points, [p.score for p in points])],
            },
            {
                "name": "budget_spent",
                "title": "error budget spent: the largest share of an SLO's budget, per experiment",
                "y_label": "budget spent",
                "unit": "%",
                "series": [
                    _series(
                        GATE_SERIES if e is None else e,
                        points,
                        [percent(p.worst_budget.get(e)) for p in points],
                    )
                    for e in budgeted
                ],
            },
            {
                "name": "recover",
                "title": "time to recover, as users saw it, per experiment",
                "y_label": "time to recover",
                "unit": "s",
                "series": [
                    _series(e, points, [p.recover_s.get(e) for p in points]) for e in experiments
                ],
            },
        ],
    }


def render_trend(spec: Mapping[str, Any], png: Path) -> None:
    """Draw ``spec`` into ``png`` (Agg backend; nothing is shown on a screen)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    runs = spec["runs"]
    index = {run["run_id"]: i for i, run in enumerate(runs)}
    panels = spec["panels"]
    figure = Figure(
        figsize=(max(6.0, 1.1 * len(runs) + 3.0), 2.6 * len(panels) + 1.2), layout="constrained"
    )
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    title = f"{spec['title']}\nreported run {spec['run']}"
    if spec.get("note"):
        title += f"\n{spec['note']}"
    figure.suptitle(title, fontsize=10)
    for ax, panel in zip(axes, panels, strict=True):
        for line in panel["series"]:
            xs = [index[run_id] for run_id, _ in line["points"]]
            ys = [math.nan if v is None else v for _, v in line["points"]]
            ax.plot(xs, ys, marker="o", linewidth=1.2, label=line["name"])
        if all(v is None for line in panel["series"] for _, v in line["points"]):
            ax.text(
                0.5, 0.5, "no run measured this", transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="grey",
            )  # fmt: skip
        ax.set_ylabel(f"{panel['y_label']} ({panel['unit']})")
        ax.set_title(panel["title"], fontsize=9, loc="left")
        if panel["unit"] == "0-100":
            ax.set_ylim(-2, 102)
        else:
            ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if panel["series"]:
            ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xticks(range(len(runs)), [run["label"] for run in runs], fontsize=7)
    axes[-1].set_xlim(-0.5, len(runs) - 0.5)
    axes[-1].set_xlabel("run (UTC start time and id), oldest first")
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, dpi=90)


def write_trend(directory: Path, history: History) -> tuple[Path, Path]:
    """Write ``trend.plot.json`` and ``trend.png`` into ``directory``; return both paths."""
    return write_spec_and_png(directory, TREND_STEM, trend_spec(history), render_trend)


def _scores(history: History) -> str:
    scores = [f"{p.score:.1f}" if p.score is not None else "—" for p in history.points]
    return " → ".join(scores)


def trend_result(history: History, plots_dir: Path, *, profile: str) -> Result:
    """The report's trend page: the plot and its specification (not a verdict of the run)."""
    spec_path, png = write_trend(plots_dir, history)
    last = history.points[-1]
    count = len(history.points)
    return Result(
        name=f"Trend across runs ({history.scope})",
        full_name=f"trend.{history.plan or 'all'}",
        status="passed",
        message=f"{count} run(s) of {history.scope}; resilience score {_scores(history)}",
        labels=result_labels(
            area="trend",
            feature=history.plan or "all",
            story="score, budget spent and recovery across runs",
            severity="trivial",
            profile=profile,
            zone="all",
        ),
        attachments=(
            *plot_attachments(
                "trend: score, budget spent and recovery per run",
                "trend plot specification",
                png,
                spec_path,
            ),
        ),
        start_ms=last.created_ms,  # at the reported run: the runs' span is no duration
        stop_ms=last.created_ms,
        description=(
            "Not a verdict: the history of this run and the ones before it, from the run store"
            f" {history.store}. One point per run, oldest first."
        ),
        parameters={"run": history.run_id, "runs": str(count)},
    )


def trend_lines(history: History, png: Path | None) -> list[str]:
    """The Markdown summary's lines about the trend (``png`` relative to the summary)."""
    if not history.points or png is None:
        return [f"Trend across runs: omitted, {history.reason}."]
    count = len(history.points)
    lines = [
        f"Trend across the last {count} run(s) of {history.scope}, oldest first:"
        f" resilience score {_scores(history)}"
        + (" (the only run so far: nothing to compare it with yet)" if count == 1 else "")
        + ".",
        "",
        f"![trend: score, budget spent and recovery per run]({png.as_posix()})",
    ]
    return lines
