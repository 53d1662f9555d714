"""The ``stormcheck`` command line.

Command groups live one module each in :mod:`stormcheck.commands`; every module there exposes
``COMMANDS``, a tuple of click commands. The root group loads a module only when one of its
commands is asked for: importing them all (Docker SDK, HTTP clients, rich) cost about 1.2 s of
every invocation, most of ``stormcheck experiment run``'s overhead over plain ``chaos run``.
:data:`COMMAND_MODULES` says which module holds which command; a unit test checks it against what
the modules export, so a new module that is not listed fails ``make check``.
"""

from __future__ import annotations

import importlib
import signal
import sys
from pathlib import Path

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.errors import StormcheckError
from stormcheck.redaction import install_log_redaction
from stormcheck.settings import PROFILES

__all__ = ["COMMAND_MODULES", "EXIT_ERROR", "CliState", "build_cli", "main", "pass_state"]

EXIT_ERROR = 3  # 1 and 2 belong to gates: fail and inconclusive

COMMAND_MODULES: dict[str, str] = {
    "attach": "platform",
    "calibrate": "calibrate",
    "doctor": "doctor",
    "down": "platform",
    "engine": "engine",
    "experiment": "experiment",
    "gate": "gate",
    "halt": "halt",
    "images": "images",
    "janitor": "janitor",
    "load": "load",
    "report": "report",
    "run": "run",
    "runs": "runs",
    "sink": "sink",
    "slo": "slo",
    "status": "platform",
    "tools": "tools",
    "up": "platform",
    "validate": "validate",
}
"""Each command's module under :mod:`stormcheck.commands`, imported when the command is used."""


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use, from :data:`COMMAND_MODULES`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            _load(COMMAND_MODULES[cmd_name])
        return self.commands.get(cmd_name)


def _load(module_name: str) -> None:
    module = importlib.import_module(f"stormcheck.commands.{module_name}")
    for command in module.COMMANDS:
        cli.add_command(command)


def _parse_overrides(values: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--set")
        parsed[key.strip().replace("-", "_")] = value
    return parsed


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


def build_cli(*, eager: bool = True) -> click.Group:
    """The root group; with ``eager`` every command module is imported now (tests, ``--help``
    listings), otherwise each on first use."""
    if eager:
        for module_name in sorted(set(COMMAND_MODULES.values())):
            _load(module_name)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``stormcheck`` script."""
    # A shell without job control starts background jobs (`stormcheck up &`, `make test &`)
    # with SIGINT ignored, and Python keeps an inherited ignore: Ctrl-C (or kill -INT) would
    # then not stop a run, and what it started would be left behind. Every command here cleans
    # up on SIGINT, so take it back.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    install_log_redaction()
    group = build_cli(eager=False)
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
