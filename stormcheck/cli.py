"""The ``stormcheck`` command line.

Command groups live one module each in :mod:`stormcheck.commands`; every module there exposes
``COMMANDS``, a tuple of click commands, and :func:`build_cli` adds them all. A new command group
is a new module, not an edit of a central list.
"""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys
from pathlib import Path

import click

from stormcheck import commands
from stormcheck.commands import CliState, pass_state
from stormcheck.errors import StormcheckError
from stormcheck.settings import PROFILES

__all__ = ["EXIT_ERROR", "CliState", "build_cli", "main", "pass_state"]

EXIT_ERROR = 3  # 1 and 2 belong to gates: fail and inconclusive


def _parse_overrides(values: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--set")
        parsed[key.strip().replace("-", "_")] = value
    return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--profile", type=click.Choice(PROFILES), help="Target: local (default), kubernetes, aws."
)
@click.option(
    "--profile-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A profile file of your own instead of the built-in one.",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a setting.")
@click.version_option(package_name="stormcheck")
@click.pass_context
def cli(
    ctx: click.Context, profile: str | None, profile_file: Path | None, overrides: tuple[str, ...]
) -> None:
    """stormcheck: load the platform, break it, and judge its SLOs with evidence."""
    ctx.obj = CliState(profile, profile_file, _parse_overrides(overrides))


def build_cli() -> click.Group:
    """The root group with every command module of :mod:`stormcheck.commands` added."""
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        for command in module.COMMANDS:
            cli.add_command(command)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``stormcheck`` script."""
    # A shell without job control starts background jobs (`stormcheck up &`, `make test &`)
    # with SIGINT ignored, and Python keeps an inherited ignore: Ctrl-C (or kill -INT) would
    # then not stop a run, and what it started would be left behind. Every command here cleans
    # up on SIGINT, so take it back.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    group = build_cli()
    try:
        code = group.main(args=argv, prog_name="stormcheck", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except StormcheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
