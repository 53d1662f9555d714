"""``stormcheck run``: the dry run resolves every experiment of the plan, and the kill switch
stops a plan before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli

pytestmark = pytest.mark.unit


def test_the_dry_run_shows_what_each_experiment_would_hit(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STORMCHECK_RUNS_DIR": str(tmp_path / "runs")}
    result = runner.invoke(build_cli(), ["run", "--dry-run", "--seed", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "dry run of" in result.output and "canary_planted_breach.yaml" in result.output
    assert "would kill shop-1, shop-2, shop-3" in result.output  # the canary's planted breach
    assert "0 refused" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_halted_machine_starts_no_plan(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"STORMCHECK_RUNS_DIR": str(tmp_path / "runs")}
    assert runner.invoke(build_cli(), ["halt"], env=env).exit_code == 0
    result = runner.invoke(build_cli(), ["run"], env=env)
    assert result.exit_code != 0
    assert "not starting plan quick" in str(result.exception or result.output)
    assert runner.invoke(build_cli(), ["halt", "--clear"], env=env).exit_code == 0
