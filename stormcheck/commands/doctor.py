"""``stormcheck doctor``: check every prerequisite and say how to fix each."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.doctor import run_checks

__all__ = ["COMMANDS"]

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command()
@pass_state
@click.pass_context
def doctor(ctx: click.Context, state: CliState) -> None:
    """Check Docker, registries, tools and images; exit 1 if anything required is missing."""
    checks = run_checks(state.settings())
    for check in checks:
        click.echo(f"{_MARK[check.status]} {check.name:18} {check.detail}")
        if check.status != "ok" and check.fix:
            click.echo(f"     {'':18} fix: {check.fix}")
    failed = [c.name for c in checks if c.status == "fail"]
    click.echo(
        f"{len(checks) - len(failed)} of {len(checks)} checks passed"
        + (f"; failing: {', '.join(failed)}" if failed else "")
    )
    ctx.exit(1 if failed else 0)


COMMANDS = (doctor,)
