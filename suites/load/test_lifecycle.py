"""Stopping load cleanly: Ctrl-C on `stormcheck load`, and the janitor for orphaned generators."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.chaos.janitor import end_generators
from stormcheck.load.ownership import OWNER_ENV
from stormcheck.load.request_records import read_request_log
from stormcheck.paths import project_root
from stormcheck.testing import PlatformRun

pytestmark = pytest.mark.integration


def _generators_owned_by(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"{OWNER_ENV}={pid}:".encode() in environ:
                found.append(int(entry.name))
    return found


def test_ctrl_c_stops_locust_cleanly_and_keeps_what_it_measured(
    local_platform: PlatformRun, tmp_path: Path
) -> None:
    folder = local_platform.folder
    command = [sys.executable, "-m", "stormcheck", "--set", f"runs_dir={folder.root.parent}"]
    command += ["load", "shop-open", "--run", folder.run_id, "--rate", "20", "--duration", "120"]
    command += ["--output", str(tmp_path)]
    cli = subprocess.Popen(
        command, cwd=project_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    try:
        assert cli.stdout is not None
        for line in cli.stdout:
            lines.append(line)
            if "All users spawned" in line:
                assert _generators_owned_by(cli.pid), "Locust is not tagged with its owner"
                cli.send_signal(signal.SIGINT)  # what a terminal sends on Ctrl-C
        code = cli.wait(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
        if cli.stdout is not None:
            cli.stdout.close()
    output = "".join(lines)
    assert code == 130, output[-3000:]
    assert "load thresholds: PASS" in output, output[-3000:]
    assert read_request_log(tmp_path / "requests.jsonl"), "the request log is empty"
    assert (tmp_path / "locust_stats.json").exists(), "Locust did not shut down cleanly"
    assert _generators_owned_by(cli.pid) == [], "a Locust process outlived its engine"


def test_the_janitor_ends_a_generator_whose_owner_is_gone() -> None:
    owner = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(owner.stdout)
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        env={**os.environ, OWNER_ENV: f"{dead}:1"},
    )
    try:
        assert orphan.pid in end_generators(grace_s=1)
        assert orphan.wait(timeout=10) == -signal.SIGTERM
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
