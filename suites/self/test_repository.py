"""The repository keeps its promises: the README's two commands, CI running `make test`, the tiers."""

from __future__ import annotations

import re
import subprocess

import pytest

from stormcheck.paths import project_root

pytestmark = pytest.mark.static

ROOT = project_root()
DESIGN_TIERS = {"unit", "static", "integration", "e2e", "catalogue", "slow", "benchmark"}


def _make_targets() -> set[str]:
    database = subprocess.run(
        ["make", "-pRrq", "-C", str(ROOT)], capture_output=True, text=True, check=False
    ).stdout
    return set(re.findall(r"^([a-z][a-z0-9-]*):", database, flags=re.MULTILINE))


def test_ci_runs_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec make test$", script, flags=re.MULTILINE), script


def test_readme_quick_start_is_the_two_commands_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make (\S+)", quick_start, flags=re.MULTILINE)
    assert commands == ["run", "test"], commands
    targets = _make_targets()
    documented = set(re.findall(r"`make ([a-z-]+)`", readme))
    assert documented <= targets, (
        f"README names make targets that do not exist: {documented - targets}"
    )
    assert {"run", "test", "check", "test-nightly", "bench", "ci-cold"} <= targets


def test_every_design_tier_is_a_registered_marker(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    assert registered >= DESIGN_TIERS, DESIGN_TIERS - registered


def test_platform_is_not_a_python_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists(), "it would shadow the stdlib `platform`"
    assert (ROOT / "conftest.py").read_text(encoding="utf-8").startswith("pytest_plugins = [")
