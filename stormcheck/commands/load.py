"""``stormcheck load SCENARIO``: drive a scenario against a run of the platform, as a gate."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from stormcheck.commands import CliState, pass_state
from stormcheck.commands.janitor import run_janitor
from stormcheck.errors import ConfigError
from stormcheck.load.cpu import CpuBudget
from stormcheck.load.runner import LoadPlan, run_load
from stormcheck.load.scenarios import (
    PATTERN_NAMES,
    SCENARIOS,
    load_target,
    refuse_foreign_options,
    scenario,
)
from stormcheck.load.shape_file import resolve_shape
from stormcheck.load.thresholds import Thresholds
from stormcheck.local.session import runs_dir
from stormcheck.runs import find_run
from stormcheck.timeline import EventKind
from stormcheck.verdict import gate_exit_code

__all__ = ["COMMANDS"]

EXIT_INTERRUPTED = 130


def _given(ctx: click.Context) -> list[str]:
    """The options the user set (not left at their defaults), as the command line spells them."""
    return [
        param.opts[0]
        for param in ctx.command.params
        if isinstance(param, click.Option)
        and param.name
        and ctx.get_parameter_source(param.name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    ]


@click.command(name="load")
@click.argument("scenario_name", metavar="SCENARIO", type=click.Choice(sorted(SCENARIOS)))
@click.option("--run", "run_id", help="Target run (default: the one run that is up).")
@click.option("--rate", type=float, help="Open model: arrivals per second.")
@click.option(
    "--share",
    type=float,
    default=0.4,
    show_default=True,
    help="Open model without --rate: this share of the run's calibrated capacity.",
)
@click.option("--users", type=int, default=10, show_default=True, help="Closed model / peak.")
@click.option("--spawn-rate", type=float, default=5.0, show_default=True)
@click.option("--duration", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option(
    "--shape",
    "shape",
    metavar="NAME|FILE",
    default="ramp",
    show_default=True,
    help=f"Pattern model: {', '.join(PATTERN_NAMES)}, or a load-shape file (*.yaml, *.yml).",
)
@click.option("--workers", type=int, default=0, show_default=True, help="0: one process.")
@click.option("--web", is_flag=True, help="Open Locust's web UI on 127.0.0.1 instead.")
@click.option("--max-error-ratio", type=float, default=0.01, show_default=True)
@click.option("--p95-ms", type=float, default=500.0, show_default=True)
@click.option("--p99-ms", type=float, default=1000.0, show_default=True)
@click.option("--cpu", "cpu_cores", type=float, default=0.5, show_default=True, help="Budget.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the request log and stats (default: the run folder).",
)
@pass_state
@click.pass_context
def load_command(  # noqa: PLR0917 - click passes each option as a parameter
    ctx: click.Context,
    state: CliState,
    scenario_name: str,
    run_id: str | None,
    rate: float | None,
    share: float,
    users: int,
    spawn_rate: float,
    duration: float,
    shape: str,
    workers: int,
    web: bool,
    max_error_ratio: float,
    p95_ms: float,
    p99_ms: float,
    cpu_cores: float,
    output: Path | None,
) -> None:
    """Run a load SCENARIO against a run; exit 0 pass, 1 fail, 2 inconclusive, 130 on Ctrl-C."""
    from stormcheck.load.calibrate import read_capacity

    chosen = scenario(scenario_name)
    refuse_foreign_options(chosen, _given(ctx))
    pattern, stages = resolve_shape(shape)  # a bad file: its located lines, before any run is read
    settings = state.settings()
    from stormcheck.chaos.halt import check_not_halted

    check_not_halted(settings, "a load")
    folder = find_run(runs_dir(settings), run_id)
    run_janitor(settings, echo=click.echo)  # no orphaned generator loads the platform beside it
    manifest = folder.read_manifest()
    component, endpoint = load_target(chosen, manifest.components)
    host = manifest.endpoint(component, endpoint)
    click.echo(f"load {chosen.name} ({chosen.model} model) through {component}: {host}")
    if chosen.model == "pattern":
        source = "built-in" if stages is None else f"{len(stages)} stage(s) from {shape}"
        click.echo(f"shape {pattern} ({source}), peak {users} users")
    if chosen.model == "open" and rate is None:
        capacity = read_capacity(folder, component)
        if not capacity:
            raise ConfigError(
                f"run {folder.run_id} has no calibrated capacity for {component}: "
                "give --rate or run `stormcheck calibrate` first"
            )
        rate = round(capacity * share, 1)
        click.echo(f"rate {rate}/s = {share:g} x calibrated capacity {capacity:g}/s")
    try:
        plan = LoadPlan(
            scenario=chosen,
            host=host,
            duration_s=None if web and not duration else duration,
            users=users,
            spawn_rate=spawn_rate,
            rate=rate or 10.0,
            pattern=pattern,
            stages=stages,
            workers=workers,
            web=web,
            thresholds=Thresholds(max_error_ratio=max_error_ratio, p95_ms=p95_ms, p99_ms=p99_ms),
            budget=CpuBudget(cores=cpu_cores),
        )
    except ValueError as exc:
        raise ConfigError(f"stormcheck load: {exc}") from None
    stats_dir = output or folder.root / "load"
    request_log = output / "requests.jsonl" if output else folder.requests_path
    folder.timeline.record(EventKind.LOAD_START, chosen.name, host=host, target=component)
    result = run_load(plan, stats_dir, request_log=request_log, progress=click.echo)
    folder.timeline.record(
        EventKind.LOAD_END,
        chosen.name,
        outcome=result.verdict.outcome.value,
        interrupted=result.interrupted,
    )
    folder.write_verdicts([*folder.read_verdicts(), result.verdict])
    click.echo(result.verdict.explain())
    click.echo(
        f"generator CPU: peak {result.cpu.peak_share:.0%} of {plan.budget.cores:g} core "
        f"({result.cpu.limited_by}); request log {result.request_log}; stats {stats_dir}"
    )
    if result.interrupted:
        ctx.exit(EXIT_INTERRUPTED)
    ctx.exit(gate_exit_code(result.verdict, allow_inconclusive=settings.allow_inconclusive))


COMMANDS = (load_command,)
