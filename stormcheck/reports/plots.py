"""Plots of an experiment, each drawn from a plot specification kept beside the PNG.

The specification (:func:`plot_spec`) is data: the series (SLI, latency percentiles, error ratio
per one-second bucket of the request log, by intended send time), the shaded fault window, the
alert markers (the sink's receive times) and the recovery instant. :func:`render` draws exactly
that with matplotlib's Agg backend; a test checks the specification, a person reads the PNG.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from stormcheck.reports.evidence import Bucket, ExperimentRecord
from stormcheck.timeline import iso_ms

__all__ = ["PLOT_FORMAT", "plot_spec", "render", "write_plot"]

PLOT_FORMAT = 1
LEAD_MS = 20_000  # shown before the fault starts: the steady state it broke
TAIL_MS = 5_000


def plot_spec(
    run_id: str, experiment: ExperimentRecord, buckets: Sequence[Bucket]
) -> dict[str, Any]:
    """The specification of ``experiment``'s plot: data and marks, JSON-ready."""
    start = min(experiment.window.start_ms, experiment.fault_window.start_ms - LEAD_MS)
    end = max(experiment.window.end_ms, experiment.fault_window.end_ms) + TAIL_MS
    shown = [b for b in buckets if start <= b.start_ms <= end]

    def series(name: str, values: Sequence[float]) -> dict[str, Any]:
        return {
            "name": name,
            "points": [[b.start_ms, v] for b, v in zip(shown, values, strict=True)],
        }

    return {
        "format": PLOT_FORMAT,
        "run": run_id,
        "experiment": experiment.stem,
        "title": experiment.title,
        "range": {"start_ms": start, "end_ms": end},
        "origin_ms": experiment.fault_window.start_ms,
        "bucket_ms": 1000,
        "shaded": [
            {
                "label": "fault window",
                "start_ms": experiment.fault_window.start_ms,
                "end_ms": experiment.fault_window.end_ms,
            }
        ],
        "alerts": [
            {"name": a.name, "slo": a.slo, "received_ms": a.received_ms} for a in experiment.alerts
        ],
        "recovery_ms": experiment.recovery_ms,
        "panels": [
            {
                "name": "sli",
                "title": "SLI: share of requests that succeeded",
                "y_label": "success ratio",
                "unit": "ratio",
                "series": [series("SLI", [b.sli for b in shown])],
            },
            {
                "name": "latency",
                "title": "latency percentiles per 1 s bucket (nearest rank, from intended send time)",
                "y_label": "latency",
                "unit": "ms",
                "series": [
                    series("p50", [b.p50_ms for b in shown]),
                    series("p95", [b.p95_ms for b in shown]),
                    series("p99", [b.p99_ms for b in shown]),
                ],
            },
            {
                "name": "error_ratio",
                "title": "error ratio",
                "y_label": "error ratio",
                "unit": "ratio",
                "series": [series("errors", [b.error_ratio for b in shown])],
            },
        ],
    }


def render(spec: Mapping[str, Any], png: Path) -> None:
    """Draw ``spec`` into ``png`` (Agg backend; nothing is shown on a screen)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    origin = int(spec["origin_ms"])

    def seconds(at_ms: float) -> float:
        return (at_ms - origin) / 1000

    panels = spec["panels"]
    figure = Figure(figsize=(10, 2.6 * len(panels) + 0.8), layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    start = iso_ms(origin)
    figure.suptitle(
        f"{spec['title']}\nrun {spec['run']}, t = 0 at fault start {start}", fontsize=10
    )
    groups: list[tuple[float, list[str]]] = []  # alerts of one notification share a label
    for alert in spec["alerts"]:
        at = seconds(alert["received_ms"])
        name = alert["name"] + (f" ({alert['slo']})" if alert.get("slo") else "")
        if groups and at - groups[-1][0] < 0.5:
            groups[-1][1].append(name)
        else:
            groups.append((at, [name]))
    for at, names in groups:
        axes[-1].annotate(
            "\n".join(names), xy=(at, 1.0), xycoords=("data", "axes fraction"),
            xytext=(2, -4), textcoords="offset points", rotation=90, fontsize=6,
            va="top", color="tab:orange",
        )  # fmt: skip
    for ax, panel in zip(axes, panels, strict=True):
        for line in panel["series"]:
            xs = [seconds(t) for t, _ in line["points"]]
            ys = [v for _, v in line["points"]]
            ax.plot(xs, ys, label=line["name"], linewidth=1.2)
        for shade in spec["shaded"]:
            ax.axvspan(
                seconds(shade["start_ms"]), seconds(shade["end_ms"]),
                color="tab:red", alpha=0.12, label=shade["label"],
            )  # fmt: skip
        for index, alert in enumerate(spec["alerts"]):
            ax.axvline(
                seconds(alert["received_ms"]), color="tab:orange", linestyle="--", linewidth=0.8,
                label="alert received" if index == 0 else None,
            )  # fmt: skip
        if spec["recovery_ms"] is not None:
            ax.axvline(
                seconds(spec["recovery_ms"]), color="tab:green", linewidth=1.5, label="recovered"
            )
        ax.set_ylabel(f"{panel['y_label']} ({panel['unit']})")
        ax.set_title(panel["title"], fontsize=9, loc="left")
        if panel["unit"] == "ratio":
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("time since fault start (s)")
    axes[-1].set_xlim(seconds(spec["range"]["start_ms"]), seconds(spec["range"]["end_ms"]))
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, dpi=90)


def write_plot(
    directory: Path, run_id: str, experiment: ExperimentRecord, buckets: Sequence[Bucket]
) -> tuple[Path, Path]:
    """Write ``<stem>.plot.json`` and ``<stem>.png`` into ``directory``; return both paths."""
    return write_spec_and_png(
        directory, experiment.stem, plot_spec(run_id, experiment, buckets), render
    )


def write_spec_and_png(
    directory: Path,
    stem: str,
    spec: Mapping[str, Any],
    draw: Callable[[Mapping[str, Any], Path], None],
) -> tuple[Path, Path]:
    """Write ``spec`` as ``<stem>.plot.json`` and ``draw`` it into ``<stem>.png`` beside it: the
    PNG is drawn from exactly the specification a test can read. Returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    spec_path = directory / f"{stem}.plot.json"
    spec_path.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    png = directory / f"{stem}.png"
    draw(spec, png)
    return spec_path, png
