"""``stormcheck run [--plan quick|nightly|release-gate] [--dry-run]``: the main job.

A plan (``experiments/plans/<name>.yaml``) says which steps run, in which order, with which
experiments and load, and each step's time budget; :mod:`stormcheck.jobs` runs it. The exit code
says whether the platform behaved as expected: 0 every verdict within its expected outcome, 1 one
is not, 2 something could not be measured (3: bad input, 130: interrupted).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.paths import project_root

if TYPE_CHECKING:
    from stormcheck.plans import Plan
    from stormcheck.settings import Settings

__all__ = ["COMMANDS"]

DEFAULT_PLAN = "quick"


def _plans_folder() -> Path:
    from stormcheck.plans import PLANS_FOLDER

    return project_root() / PLANS_FOLDER


class _PlanCommand(click.Command):
    """``--help`` lists the plan files with their descriptions (read when asked, not on import)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from stormcheck.errors import StormcheckError
        from stormcheck.plans import plan_files, read_plan

        rows = []
        for path in plan_files(_plans_folder()):
            try:
                plan = read_plan(path)
                rows.append((plan.name, f"{plan.description} ({plan.budget_s // 60} min budget)"))
            except StormcheckError as exc:
                rows.append((path.stem, f"unreadable: {str(exc).splitlines()[0]}"))
        with formatter.section("Plans (experiments/plans/)"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@click.command(cls=_PlanCommand)
@click.option(
    "--plan",
    "plan_name",
    default=DEFAULT_PLAN,
    show_default=True,
    help="A plan of experiments/plans/.",
)
@click.option(
    "--plan-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A plan file of your own instead of --plan.",
)
@click.option("--dry-run", is_flag=True, help="Check the plan and list its steps; start nothing.")
@click.option(
    "--seed", type=int, help="Seed for every choice of targets (default: drawn, printed)."
)
@pass_state
@click.pass_context
def run(  # noqa: PLR0917 - click passes each option as a parameter
    ctx: click.Context,
    state: CliState,
    plan_name: str,
    plan_file: Path | None,
    dry_run: bool,
    seed: int | None,
) -> None:
    """Run a plan on the local platform; exit 0 as expected, 1 not, 2 not measured."""
    from stormcheck.errors import ConfigError
    from stormcheck.jobs.progress import choose_display
    from stormcheck.jobs.runner import run_plan
    from stormcheck.jobs.summary import render_summary
    from stormcheck.load.scenarios import SCENARIOS
    from stormcheck.local.session import runs_dir
    from stormcheck.plans import read_plan, reference_problems

    path = plan_file or _plans_folder() / f"{plan_name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(_plans_folder().glob("*.yaml")))
        raise ConfigError(f"no plan {plan_name!r} in {_plans_folder()}; known: {known}")
    plan = read_plan(path)
    problems = reference_problems(
        plan, scenarios=set(SCENARIOS), experiments_folder=project_root() / "experiments" / "local"
    )
    for problem in problems:
        click.echo(f"note: {problem}", err=True)
    if dry_run:
        click.echo(f"plan {plan.name} ({plan.path}): {plan.description}")
        click.echo(f"  stack {plan.stack}, budget {plan.budget_s} s")
        for number, step in enumerate(plan.steps, 1):
            what = []
            if step.load is not None:
                what.append(f"load {step.load.scenario} at {step.load.share:.0%} of capacity")
            if step.window_s is not None:
                what.append(f"window {step.window_s} s")
            if step.experiment_list is not None:
                what.append(f"experiments: list {step.experiment_list}")
            elif step.experiments:
                what.append(f"experiments: {', '.join(step.experiments)}")
            click.echo(f"  {number}. {step.kind:9} budget {step.budget_s:>4} s  {'; '.join(what)}")
        refused = _dry_run_experiments(plan, state.settings(), seed) if not problems else 0
        click.echo(f"dry run: nothing started; {len(problems)} problem(s), {refused} refused")
        ctx.exit(3 if problems or refused else 0)
    settings = state.settings()
    from stormcheck.chaos.halt import check_not_halted

    check_not_halted(settings, f"plan {plan.name}")
    display = choose_display(sys.stdout, plan=plan.name)
    try:
        result = run_plan(plan, settings, display, runs_dir=runs_dir(settings), seed=seed)
    finally:
        display.close()
    render_summary(result, sys.stdout)
    ctx.exit(result.exit_code)


def _dry_run_experiments(plan: Plan, settings: Settings, seed: int | None) -> int:
    """Each experiment of ``plan``, resolved as the policy's dry run does (what would be done to
    what, on a new full stack, with the seed); how many the blast-radius policy refuses."""
    from stormcheck.chaos.policy import dry_run
    from stormcheck.judge import read_expectations

    root = project_root() / "experiments"
    files: list[Path] = []
    for step in plan.steps:
        if step.kind == "canary":
            files += [root / "canary" / f"{stem}.yaml" for stem in step.experiments]
        elif step.experiment_list is not None:
            rows = read_expectations().named(step.experiment_list)
            files += [root / "local" / f"{row.experiment}.yaml" for row in rows]
        else:
            files += [root / "local" / f"{stem}.yaml" for stem in step.experiments]
    refused = 0
    for file in files:
        planned = dry_run(file, None, settings, seed)
        click.echo(planned.describe())
        refused += 0 if planned.allowed else 1
    return refused


COMMANDS = (run,)
