"""``stormcheck experiment list | validate | run``: the fault catalogue as Chaos Toolkit experiments."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.commands.janitor import run_janitor
from stormcheck.errors import ConfigError, PlatformError
from stormcheck.paths import project_root

__all__ = ["COMMANDS"]

DEFAULT_DIR = Path("experiments") / "local"


def _folder(directory: Path | None) -> Path:
    return directory or project_root() / DEFAULT_DIR


def _variables(values: tuple[str, ...]) -> dict[str, Any]:
    from chaoslib import convert_vars

    try:
        return dict(convert_vars(list(values)))
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc} (expected KEY=VALUE or KEY:int=VALUE)", param_hint="--var"
        ) from None


@click.group()
def experiment() -> None:
    """The fault catalogue: Chaos Toolkit experiments against the local platform."""


@experiment.command(name="list")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path))
def list_command(directory: Path | None) -> None:
    """Every experiment file with the question it answers and its tags."""
    from stormcheck.chaos.experiment_file import experiment_files, read_experiment

    for path in experiment_files(_folder(directory)):
        found = read_experiment(path)
        click.echo(f"{path.stem:28} {found.title}")
        click.echo(f"{'':28}   tags: {', '.join(found.tags)}")


@experiment.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check experiment FILES (default: the catalogue): Chaos Toolkit's validation and the
    catalogue's rules, one located line per problem; exit 1 when any."""
    from stormcheck.chaos.experiment import chaoslib_problems
    from stormcheck.chaos.experiment_file import (
        check_experiment,
        experiment_files,
        read_experiment,
    )

    paths = list(files) or experiment_files(_folder(None))
    problems: list[str] = []
    for path in paths:
        found = check_experiment(path)
        if not found:
            found = chaoslib_problems(read_experiment(path).document, path)
        problems += found
    for line in problems:
        click.echo(line, err=True)
    click.echo(f"{len(paths)} experiment(s), {len(problems)} problem(s)")
    ctx.exit(1 if problems else 0)


@experiment.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--run", "run_id", help="Attach to this run (default: start a full stack).")
@click.option("--load", "load_scenario", help="Drive this load scenario during the experiment.")
@click.option("--rate", type=float, default=10.0, show_default=True, help="Load: arrivals/s.")
@click.option("--users", type=int, default=5, show_default=True, help="Load: closed-model users.")
@click.option("--seed", type=int, help="Seed for every action that chooses targets.")
@click.option("--replay", "replay_id", help="Rerun what this earlier run did (targets, seeds).")
@click.option("--var", "var", multiple=True, metavar="KEY[:TYPE]=VALUE", help="Configuration.")
@click.option(
    "--settle", type=float, default=30.0, show_default=True, help="Seconds to settle after."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Resolve the targets (with the seed) and print what would be done to what; change nothing.",
)
@click.option(
    "--allow-production",
    is_flag=True,
    help="Consent to faults on a target the policy names production (production_targets).",
)
@pass_state
@click.pass_context
def run(  # noqa: PLR0917 - click passes each option as a parameter
    ctx: click.Context,
    state: CliState,
    file: Path,
    run_id: str | None,
    load_scenario: str | None,
    rate: float,
    users: int,
    seed: int | None,
    replay_id: str | None,
    var: tuple[str, ...],
    settle: float,
    dry_run: bool,
    allow_production: bool,
) -> None:
    """Run the experiment in FILE; exit 0 held (snapshot diff empty), 1 deviated, aborted by a
    stop condition (or the platform was not left as found), 2 not measured (not ready, a probe
    that could not measure, an action or rollback that failed, the kill switch pulled during it),
    3 bad input or refused by the blast-radius policy or the kill switch (nothing changed),
    130 / 143 interrupted by SIGINT / SIGTERM (its rollbacks played)."""
    import dataclasses

    from stormcheck.chaos.experiment import (
        EXIT_REFUSED,
        Interrupted,
        background_load,
        run_experiment_file,
        signal_guard,
    )
    from stormcheck.chaos.experiment_file import check_experiment
    from stormcheck.chaos.halt import check_not_halted
    from stormcheck.chaos.policy import PolicyRefusal
    from stormcheck.chaos.policy import dry_run as plan_dry_run
    from stormcheck.load.scenarios import scenario
    from stormcheck.local.delivery import host_sink, listening_sink
    from stormcheck.local.engine import connect
    from stormcheck.local.session import bring_down, bring_up, runs_dir
    from stormcheck.runs import find_run

    settings = state.settings()
    if allow_production:
        settings = dataclasses.replace(settings, allow_production=True)
    variables = _variables(var)
    problems = check_experiment(file)
    if problems:
        raise ConfigError("\n".join(problems))
    if load_scenario is not None:
        scenario(load_scenario)  # refused before anything starts
    if dry_run:
        found = find_run(runs_dir(settings), run_id) if run_id else None
        planned = plan_dry_run(file, found, settings, seed)
        click.echo(planned.describe())
        ctx.exit(0 if planned.allowed else EXIT_REFUSED)
    check_not_halted(settings, "an experiment")
    if run_id is not None:  # the policy, before anything starts (the control checks again)
        planned = plan_dry_run(file, find_run(runs_dir(settings), run_id), settings, seed or 0)
        if not planned.allowed:
            raise PolicyRefusal(f"{file}: {planned.refusal}")
    replay = find_run(runs_dir(settings), replay_id) if replay_id else None
    with signal_guard(click.echo) as guard:
        try:
            run_janitor(settings, echo=click.echo, only_run=run_id)
            owned = run_id is None
            if owned:
                full = dataclasses.replace(settings, stack="full")
                folder, _ = bring_up(full, owner="process", progress=click.echo)
            else:
                folder = find_run(runs_dir(settings), run_id)
            try:
                with contextlib.ExitStack() as stack:
                    client = connect()
                    stack.callback(client.close)
                    hosted = listening_sink(folder)
                    if hosted:
                        click.echo(f"alert sink: hosted by another process at {hosted}; left there")
                    else:
                        try:
                            sink = host_sink(client, folder)
                            stack.callback(sink.stop)
                            click.echo(f"alert sink: {sink.url}")
                        except PlatformError as exc:
                            click.echo(f"no alert sink: {exc}")
                    if load_scenario is not None:
                        stack.enter_context(
                            background_load(
                                folder, load_scenario, rate=rate, users=users, progress=click.echo
                            )
                        )
                        time.sleep(10.0)  # the load reaches its rate before the steady state
                    result = run_experiment_file(
                        file,
                        folder,
                        settings,
                        variables=variables,
                        seed=seed,
                        replay=replay,
                        settle_s=settle,
                        progress=click.echo,
                    )
            finally:
                guard.protects = True  # a signal now must not leave a half-removed stack
                if owned:
                    from stormcheck.reports.retention import retain_before_down

                    retain_before_down(folder, progress=click.echo)
                    bring_down(settings, folder)
        except Interrupted as exc:  # before the experiment ran: nothing was injected
            click.echo(f"interrupted before the experiment ran: {exc}", err=True)
            ctx.exit(exc.exit_code)
    click.echo(result.explain())
    click.echo(f"journal: {result.journal_path} ({result.seconds:.1f} s)")
    ctx.exit(result.exit_code)


COMMANDS = (experiment,)
