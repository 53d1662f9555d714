"""On a real run: ``stormcheck sink RUN`` receives what its Alertmanager delivers, and the run's
provenance names every component's image and version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.local.provenance import record_provenance
from stormcheck.settings import Settings
from stormcheck.testing import PlatformRun
from stormcheck.timeline import Event, EventKind, now_ms

pytestmark = pytest.mark.integration


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout_s: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} within {timeout_s} s; got {seen}")


def test_the_sink_command_puts_a_delivered_alert_on_the_run_timeline(
    local_platform: PlatformRun, settings: Settings
) -> None:
    folder = local_platform.folder
    command = [
        sys.executable, "-m", "stormcheck",
        "--set", f"runs_dir={folder.root.parent}",
        "sink", folder.run_id,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=Path.cwd()
    )
    try:
        _wait_for_line(process, "alert sink listening at", timeout_s=60)
        name = f"SinkCommandProbe{now_ms()}"
        posted = now_ms()
        with AlertmanagerClient(local_platform.manifest.endpoint("alertmanager")) as client:
            client.fire({"alertname": name, "severity": "ticket"}, {"summary": "sink probe"})
        deadline = time.monotonic() + 45
        received: list[Event] = []
        while time.monotonic() < deadline and not received:
            received = [e for e in folder.timeline.events(EventKind.ALERT_FIRING) if e.name == name]
            time.sleep(0.5)
        assert received, f"alert {name} posted at {posted} never reached {folder.timeline_path}"
        assert received[0].at_ms >= posted
    finally:
        os.kill(process.pid, signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert "alert sink: stopped; 1 notification(s) received" in out


def test_a_second_sink_for_the_same_run_is_refused(local_platform: PlatformRun) -> None:
    folder = local_platform.folder
    base = [sys.executable, "-m", "stormcheck", "--set", f"runs_dir={folder.root.parent}"]
    first = subprocess.Popen(
        [*base, "sink", folder.run_id], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_line(first, "alert sink listening at", timeout_s=60)
        second = subprocess.run(
            [*base, "sink", folder.run_id], check=False, capture_output=True, text=True, timeout=60
        )
    finally:
        os.kill(first.pid, signal.SIGINT)
        first.communicate(timeout=30)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "is already hosted at" in second.stdout


def test_provenance_names_every_role_image_and_version(
    local_platform: PlatformRun, settings: Settings, docker_client: DockerClient
) -> None:
    folder = local_platform.folder
    provenance = record_provenance(docker_client, settings, folder, seeds={"catalogue": 7})
    stored = folder.read_manifest().provenance
    assert stored == provenance
    roles = {r.role for r in folder.read_manifest().components.values()}
    assert set(provenance.image_ids) == roles == set(provenance.component_versions)
    assert all(i.startswith("sha256:") for i in provenance.image_ids.values()), provenance.image_ids
    unknown = {r: v for r, v in provenance.component_versions.items() if v.startswith("unknown")}
    assert not unknown, unknown
    assert provenance.seeds == {"catalogue": 7}
    assert provenance.git_commit and len(provenance.git_commit) == 40
    assert provenance.host["cores"] == os.cpu_count()
    assert provenance.load_generator["budget_cores"] > 0
    assert provenance.versions["stormcheck"] and provenance.versions["docker-engine"]
