"""The engine's layers contract (pyproject.toml) holds, and an upward import breaks it.

The contract is read from pyproject.toml itself and run by import-linter on a copy of the engine,
so the test proves that the real contract catches what it is meant to catch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _layers_contract() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return dict(contract)


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _lint(copy: Path) -> subprocess.CompletedProcess[str]:
    contract = _layers_contract()
    layers = contract["layers"]
    assert isinstance(layers, list)
    (copy / "pyproject.toml").write_text(
        "[tool.importlinter]\n"
        'root_packages = ["stormcheck"]\n\n'
        "[[tool.importlinter.contracts]]\n"
        f'name = "{contract["name"]}"\n'
        'type = "layers"\n'
        f"layers = {_toml_list(layers)}\n",
        encoding="utf-8",
    )
    env = dict(os.environ, PYTHONPATH=str(copy))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def engine_copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "stormcheck", tmp_path / "stormcheck", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_the_engine_keeps_its_layers(engine_copy: Path) -> None:
    result = _lint(engine_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("slo/budget.py", "from stormcheck.local import platform"),  # SLO math on Docker
        ("redaction.py", "import stormcheck.runs"),  # the bottom reaching up
        ("local/platform.py", "import stormcheck.targets"),  # a target's engine above it
    ],
)
def test_an_upward_import_breaks_the_contract(engine_copy: Path, module: str, planted: str) -> None:
    path = engine_copy / "stormcheck" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{planted}  # planted\n", "utf-8")
    result = _lint(engine_copy)
    assert result.returncode != 0, result.stdout
    assert "0 kept, 1 broken" in result.stdout, result.stdout
    importer = "stormcheck." + module.removesuffix(".py").replace("/", ".")
    assert importer in result.stdout, result.stdout
