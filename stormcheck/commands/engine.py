"""``stormcheck engine start|status``: the Docker engine the local platform runs on."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.local.engine import engine_answers, ensure_engine

__all__ = ["COMMANDS"]


@click.group()
def engine() -> None:
    """Find, or install and start, the Docker engine."""


@engine.command("start")
@pass_state
def start(state: CliState) -> None:
    """Start a Docker engine if none answers (installs docker.io on Debian as root)."""
    status = ensure_engine(log_path=state.settings().cache_dir / "dockerd.log")
    if status.started:
        click.echo(
            f"started Docker {status.version}{' (installed docker.io)' if status.installed else ''};"
            f" log: {status.log_path}"
        )
    else:
        click.echo(f"Docker {status.version} already answers; left as it is")


@engine.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Exit 0 when a Docker engine answers, 1 when none does."""
    version = engine_answers()
    click.echo(f"Docker {version} answers" if version else "no Docker engine answers")
    ctx.exit(0 if version else 1)


COMMANDS = (engine,)
