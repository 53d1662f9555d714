"""``stormcheck calibrate``: the arrival rate a run of the platform sustains, stored in its run file."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.load.cpu import CpuBudget
from stormcheck.load.scenarios import load_target, scenario
from stormcheck.load.thresholds import Thresholds
from stormcheck.local.session import runs_dir
from stormcheck.runs import find_run

__all__ = ["COMMANDS"]


@click.command(name="calibrate")
@click.argument("run_id", required=False)
@click.option(
    "--component",
    help="Where the load goes (default: the ingress when the run has one, else shop-1).",
)
@click.option("--endpoint", help="The component's endpoint (default: api).")
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
    component: str | None,
    endpoint: str | None,
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
    manifest = folder.read_manifest()
    # as users come, and as `stormcheck load` reads the capacity back
    entry, entry_endpoint = load_target(scenario("shop-open"), manifest.components)
    component = component or entry
    host = manifest.endpoint(component, endpoint or entry_endpoint)
    click.echo(f"calibrating through {component}: {host}")
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
