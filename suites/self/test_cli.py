"""The command line: groups registered per module, and errors that say what is wrong."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stormcheck import commands
from stormcheck.cli import COMMAND_MODULES, build_cli, main
from stormcheck.runs import ComponentRecord, Lease, create_run

pytestmark = pytest.mark.unit


def test_every_command_module_exposes_its_commands() -> None:
    modules = [m.name for m in pkgutil.iter_modules(commands.__path__)]
    assert modules, "no command modules found"
    for name in modules:
        module = importlib.import_module(f"stormcheck.commands.{name}")
        assert module.COMMANDS, name
        assert all(isinstance(c, click.Command) for c in module.COMMANDS), name


def test_the_lazy_table_names_every_command_where_it_lives() -> None:
    exported = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"stormcheck.commands.{info.name}")
        exported.update({command.name: info.name for command in module.COMMANDS})
    assert exported == COMMAND_MODULES


def test_a_command_loads_only_its_own_module() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from stormcheck.cli import main\n"
        "try:\n"
        "    main(['janitor', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('stormcheck.commands.')))\n"
        "print('docker' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    listed, docker_loaded = done.stdout.strip().splitlines()[-2:]
    assert listed == "['stormcheck.commands.janitor']"
    assert docker_loaded == "False"


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


def test_attach_prints_each_backend_setting_and_no_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, manifest = create_run(
        tmp_path, profile="local", stack="full", lease=Lease.for_current_process()
    )
    for name, endpoint, url in (
        ("opensearch", "opensearch", "http://127.0.0.1:40001"),
        ("prometheus", "prometheus", "http://127.0.0.1:40002"),
        ("alertmanager", "alertmanager", "http://127.0.0.1:40003"),
        ("postgres", "postgres", "postgresql://postgres:hunter22@127.0.0.1:40004/shop"),
    ):
        manifest.add(
            ComponentRecord(
                name=name,
                role=name,
                zone="a",
                image="",
                container=name,
                endpoints={endpoint: url},
                ready_s=0.1,
            )
        )
    manifest.state = "up"
    folder.write_manifest(manifest)
    with pytest.raises(SystemExit) as caught:
        main(["--set", f"runs_dir={tmp_path}", "attach", manifest.run_id])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "export STORMCHECK_LOGSTORE_URL=http://127.0.0.1:40001" in out
    assert "export STORMCHECK_PROMETHEUS_URL=http://127.0.0.1:40002" in out
    assert "export STORMCHECK_ALERTMANAGER_URL=http://127.0.0.1:40003" in out
    assert "postgresql://postgres@127.0.0.1:40004/shop" in out and "hunter22" not in out
