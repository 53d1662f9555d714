"""``stormcheck run``: the main job, as far as it exists.

Today: bring the stack up (owned by this process), judge that every component became ready and
stays healthy, write ``verdicts.json``, bring the stack down, and exit as a gate does
(0 pass, 1 fail, 2 inconclusive). Load, experiments and SLO verdicts join as their work lands.
"""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.commands.janitor import run_janitor
from stormcheck.errors import NotReadyError
from stormcheck.local.engine import connect
from stormcheck.local.platform import component_health
from stormcheck.local.stacks import components_for, in_role
from stormcheck.settings import STACKS
from stormcheck.targets import open_target
from stormcheck.timeline import EventKind
from stormcheck.verdict import Evidence, Verdict, combine, gate_exit_code

__all__ = ["COMMANDS"]


@click.command()
@click.option(
    "--stack", type=click.Choice(STACKS), help="Stack size (default: the setting `stack`)."
)
@click.option("--keep", is_flag=True, help="Leave the platform up afterwards (owned by the user).")
@pass_state
@click.pass_context
def run(ctx: click.Context, state: CliState, stack: str | None, keep: bool) -> None:
    """Run the main job on the local platform and exit with its verdict."""
    settings = state.with_overrides(stack=stack) if stack else state.settings()
    target = open_target(settings)
    run_janitor(settings, echo=click.echo)
    verdicts: list[Verdict] = []
    try:
        folder, manifest = target.provision(
            owner="user" if keep else "process", progress=click.echo
        )
    except NotReadyError as exc:
        click.echo(f"platform did not come up: {exc}", err=True)
        ctx.exit(1)
    try:
        for name, record in manifest.components.items():
            verdicts.append(
                Verdict.passed(
                    f"ready/{name}",
                    f"{name} passed its readiness check after {record.ready_s:.1f} s",
                    Evidence(
                        description="readiness check",
                        source=record.container,
                        observed=record.ready_s,
                    ),
                )
            )
        checks = {
            c.name: in_role(c)
            for c in components_for(manifest.stack, only=tuple(manifest.components))
        }
        client = connect()
        try:
            for health in component_health(client, manifest, checks):
                make = Verdict.passed if health.healthy else Verdict.failed
                verdicts.append(
                    make(
                        f"healthy/{health.name}",
                        f"{health.name} {health.state}: {health.detail}",
                        Evidence(description="re-check after start-up", source=health.name),
                    )
                )
        finally:
            client.close()
    finally:
        overall = combine("main job", verdicts)
        folder.write_verdicts([*verdicts, overall])
        folder.timeline.record(EventKind.VERDICT, overall.name, outcome=overall.outcome.value)
        if not keep:
            target.teardown(folder)
    click.echo(overall.explain())
    click.echo(f"verdicts: {folder.verdicts_path}")
    ctx.exit(gate_exit_code(overall, allow_inconclusive=settings.allow_inconclusive))


COMMANDS = (run,)
