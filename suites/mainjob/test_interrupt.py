"""Ctrl-C during ``stormcheck run`` leaves no container, network, volume or load generator behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.load.ownership import OWNER_ENV
from stormcheck.runs import list_runs
from stormcheck.runstore import open_store

pytestmark = pytest.mark.integration

PLAN = """\
plan: interrupted
description: minimal platform, an SLO gate under load (interrupted while the load runs)
stack: minimal
budget: 10m
steps:
  - {step: up, budget: 3m}
  - {step: gate, budget: 5m, load: {scenario: shop-open, share: 0.3}, window: 120s}
  - {step: down, budget: 1m}
"""


def _generators_of(owner: int) -> list[int]:
    """Load generators whose environment names ``owner`` as their owner."""
    found = []
    needle = f"{OWNER_ENV}={owner}:".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def test_ctrl_c_while_loading_leaves_nothing_behind(
    tmp_path: Path, docker_client: DockerClient
) -> None:
    plan = tmp_path / "interrupted.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    runs_dir = tmp_path / "runs"
    command = [
        sys.executable, "-m", "stormcheck", "--set", f"runs_dir={runs_dir}",
        "run", "--plan-file", str(plan), "--seed", "7",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        generators: list[int] = []
        while time.monotonic() < deadline and not generators and process.poll() is None:
            time.sleep(0.5)
            generators = _generators_of(process.pid)
        assert generators, "the run never started a load generator"
        time.sleep(3)  # well inside the load
    finally:
        os.kill(process.pid, signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()  # and close its pipe, or it outlives the test
            out, _ = process.communicate()
            pytest.fail(f"Ctrl-C did not stop the run within 180 s:\n{out}")
    assert process.returncode == 130, out
    assert "interrupted: stopping the load" in out
    (folder,) = list_runs(runs_dir)
    labels = {"label": f"stormcheck.run={folder.run_id}"}
    assert docker_client.containers.list(all=True, filters=labels) == []
    assert docker_client.networks.list(filters=labels) == []
    assert docker_client.volumes.list(filters=labels) == []
    left = [pid for pid in generators if Path(f"/proc/{pid}").exists()]
    assert not left and not _generators_of(process.pid), (generators, left)
    assert folder.read_manifest().state == "down"
    with open_store(runs_dir) as store:
        (stored,) = store.runs()
    assert (stored.run_id, stored.plan, stored.exit_code) == (folder.run_id, "interrupted", 130)
