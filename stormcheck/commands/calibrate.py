"""``stormcheck calibrate``: the arrival rate a run of the platform sustains, stored in its run file."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.load.cpu import CpuBudget
from stormcheck.load.thresholds import Thresholds
from stormcheck.local.session import runs_dir
from stormcheck.runs import find_run

__all__ = ["COMMANDS"]


@click.command(name="calibrate")
@click.argument("run_id", required=False)
@click.option("--component", default="shop-1", show_default=True)
@click.option("--endpoint", default="api", show_default=True)
@click.option("--start-rate", type=float, default=10.0, show_default=True)
@click.option("--max-rate", type=float, default=1000.0, show_default=True)
@click.option("--step-seconds", type=float, default=10.0, show_default=True)
@click.option("--p95-ms", type=float, default=250.0, show_default=True)
@click.option("--max-error-ratio", type=float, default=0.01, show_default=True)
@click.option("--cpu", "cpu_cores", type=float, default=0.5, show_default=True)
@pass_state
def calibrate_command(  # noqa: PLR0917 - click passes each option as a parameter
    state: CliState,
    run_id: str | None,
    component: str,
    endpoint: str,
    start_rate: float,
    max_rate: float,
    step_seconds: float,
    p95_ms: float,
    max_error_ratio: float,
    cpu_cores: float,
) -> None:
    """Find the arrival rate RUN_ID (default: the one run that is up) sustains; store it in its run file."""
    from stormcheck.load.calibrate import calibrate, store_calibration

    folder = find_run(runs_dir(state.settings()), run_id)
    host = folder.read_manifest().endpoint(component, endpoint)
    result = calibrate(
        host,
        folder.root / "calibration",
        thresholds=Thresholds(max_error_ratio=max_error_ratio, p95_ms=p95_ms, p99_ms=None),
        start_rate=start_rate,
        max_rate=max_rate,
        step_s=step_seconds,
        budget=CpuBudget(cores=cpu_cores),
        progress=click.echo,
    )
    store_calibration(folder, component, result)
    bound = " (bounded by the load generator's CPU)" if result.bounded_by_generator else ""
    click.echo(
        f"{component} sustains {result.rate:g} arrivals/s{bound}; stored in {folder.manifest_path}"
    )


COMMANDS = (calibrate_command,)
