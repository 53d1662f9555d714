"""The Docker engine is left alone when it answers; tools are installed once per version."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.local.engine import engine_answers, ensure_engine
from stormcheck.settings import Settings
from stormcheck.tools import TOOLS, install_tool, tool_path

pytestmark = pytest.mark.integration


def _dockerd_pids() -> set[int]:
    out = subprocess.run(
        ["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False
    ).stdout
    return {int(p) for p in out.split()}


def test_an_answering_engine_is_never_touched(tmp_path: Path) -> None:
    before = _dockerd_pids()
    status = ensure_engine(log_path=tmp_path / "dockerd.log")
    assert not status.started and not status.installed
    assert status.version == engine_answers()
    assert _dockerd_pids() == before
    assert not (tmp_path / "dockerd.log").exists()


def test_an_unreachable_remote_engine_is_reported_not_replaced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from stormcheck.errors import DockerUnavailableError

    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    before = _dockerd_pids()
    with pytest.raises(
        DockerUnavailableError, match=r"DOCKER_HOST=tcp://127.0.0.1:9 does not answer"
    ):
        ensure_engine(log_path=tmp_path / "dockerd.log")
    assert _dockerd_pids() == before


def test_toxiproxy_installs_from_the_go_proxy_once_per_version(settings: Settings) -> None:
    bin_dir = install_tool("toxiproxy", settings.cache_dir)
    server = tool_path("toxiproxy", "toxiproxy-server", settings.cache_dir)
    assert server is not None and server.parent == bin_dir
    version = subprocess.run([str(server), "-version"], capture_output=True, text=True, check=True)
    assert TOOLS["toxiproxy"].version in version.stdout + version.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(server), "-host", "127.0.0.1", "-port", str(port)],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/version", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert TOOLS["toxiproxy"].version in answer.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    mtime = server.stat().st_mtime_ns
    env_path = os.environ["PATH"]
    try:
        os.environ["PATH"] = "/nonexistent"  # a cached tool needs no Go toolchain
        assert install_tool("toxiproxy", settings.cache_dir) == bin_dir
    finally:
        os.environ["PATH"] = env_path
    assert server.stat().st_mtime_ns == mtime


def test_doctor_passes_here_and_fails_fast_on_an_unreachable_go_proxy() -> None:
    runner = CliRunner()
    ok = runner.invoke(build_cli(), ["doctor"])
    assert ok.exit_code == 0, ok.output
    assert (
        "docker engine" in ok.output
        and "go module proxy" in ok.output
        and "maven central" in ok.output
    )
    started = time.monotonic()
    bad = runner.invoke(
        build_cli(),
        [
            "--set",
            "go_proxy=http://127.0.0.1:9",
            "--set",
            "maven_repo=http://127.0.0.1:9/m2",
            "doctor",
        ],
    )
    elapsed = time.monotonic() - started
    assert bad.exit_code == 1, bad.output
    assert "FAIL go module proxy" in bad.output and "FAIL maven central" in bad.output
    assert "fix: set GOPROXY" in bad.output
    assert elapsed < 60, f"doctor took {elapsed:.1f} s to report unreachable registries"


def test_checkov_lives_in_a_virtualenv_of_its_own(settings: Settings) -> None:
    bin_dir = install_tool("checkov", settings.cache_dir)
    version = subprocess.run(
        [str(bin_dir / "checkov"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == TOOLS["checkov"].version
    prefix = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sys, boto3; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(prefix[0]) == bin_dir.parent, "checkov must not share the project venv"
