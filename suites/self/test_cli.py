"""The command line: groups registered per module, and errors that say what is wrong."""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner

from stormcheck import commands
from stormcheck.cli import build_cli, main

pytestmark = pytest.mark.unit


def test_every_command_module_exposes_its_commands() -> None:
    modules = [m.name for m in pkgutil.iter_modules(commands.__path__)]
    assert modules, "no command modules found"
    for name in modules:
        module = importlib.import_module(f"stormcheck.commands.{name}")
        assert module.COMMANDS, name
        assert all(isinstance(c, click.Command) for c in module.COMMANDS), name


def test_the_foundation_commands_are_registered() -> None:
    group = build_cli()
    assert {"doctor", "images", "up", "down", "status", "run", "engine", "tools"} <= set(
        group.commands
    )
    images = group.commands["images"]
    assert isinstance(images, click.Group)
    assert {"build", "list"} <= set(images.commands)


def test_help_of_every_command_renders() -> None:
    group = build_cli()
    runner = CliRunner()
    for name, command in group.commands.items():
        result = runner.invoke(group, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert (command.help or "").split("\n")[0][:20] in result.output


def test_a_bad_setting_exits_3_with_a_message_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--set", "ready_timeout_s=never", "status"])
    assert caught.value.code == 3
    err = capsys.readouterr().err
    assert "ready_timeout_s from command line --set ready_timeout_s" in err
    assert "expected a number of seconds > 0" in err


def test_a_malformed_set_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--set", "novalue", "doctor"])
    assert caught.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
