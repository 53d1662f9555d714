"""The pinned tools the Terraform suite runs: found in the tool cache, or a clear failure."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stormcheck.settings import Settings
from stormcheck.tools import TOOLS, tool_path

__all__ = ["installed", "run"]


def installed(settings: Settings, name: str) -> Path:
    """The binary of a pinned tool; fails the test (never skips) when it is not installed."""
    path = tool_path(name, name, settings.cache_dir)
    if path is None:
        pytest.fail(
            f"{name} {TOOLS[name].version} is not installed under {settings.cache_dir}/tools:"
            f" run `stormcheck tools install {name}` (make check does it through `make tools`)",
            pytrace=False,
        )
    return path


def run(
    argv: list[str | Path], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
