"""``stormcheck janitor``: revert what a dead holder left behind, end orphaned load generators."""

from __future__ import annotations

from collections.abc import Callable

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.settings import Settings

__all__ = ["COMMANDS", "run_janitor"]


def run_janitor(
    settings: Settings,
    *,
    dry_run: bool = False,
    only_run: str | None = None,
    echo: Callable[[str], None] = click.echo,
) -> int:
    """Sweep (see :mod:`stormcheck.chaos.janitor`) and print one line per finding; how many.

    Commands that start runs, load or faults call it first, so a crashed earlier run never
    leaves a fault in the way of the next; one that attaches to a run passes ``only_run``.
    """
    from stormcheck.chaos.janitor import sweep
    from stormcheck.local.engine import connect

    client = connect()
    try:
        findings = sweep(settings, client, dry_run=dry_run, only_run=only_run)
    finally:
        client.close()
    for finding in findings:
        echo(f"janitor: {finding.line()}")
    return len(findings)


@click.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be reverted.")
@pass_state
def janitor(state: CliState, dry_run: bool) -> None:
    """Revert faults whose holder is gone and end orphaned load generators.

    Live holders' faults are never touched. With --dry-run nothing changes.
    """
    found = run_janitor(state.settings(), dry_run=dry_run)
    if not found:
        click.echo("janitor: nothing left behind")


COMMANDS = (janitor,)
