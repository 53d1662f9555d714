"""Runs never trample each other: separate networks, ports and containers; Ctrl-C leaves nothing."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.local.session import bring_down, bring_up
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration


def _labelled(client: DockerClient, run_id: str) -> list[str]:
    flt = {"label": f"stormcheck.run={run_id}"}
    return (
        [str(c.name) for c in client.containers.list(all=True, filters=flt)]
        + [str(n.name) for n in client.networks.list(filters=flt)]
        + [str(v.name) for v in client.volumes.list(filters=flt)]
    )


def test_two_minimal_stacks_share_no_port_network_or_container(
    settings: Settings, docker_client: DockerClient, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    local = dataclasses.replace(settings, runs_dir=tmp_path)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: bring_up(local, owner="process"), range(2))
    try:
        runs = [first[1], second[1]]
        assert runs[0].run_id != runs[1].run_id and runs[0].network != runs[1].network

        def ports(manifest_index: int) -> set[str]:
            return {
                url.rsplit(":", 1)[1].split("/")[0]
                for record in runs[manifest_index].components.values()
                for url in record.endpoints.values()
            }

        assert not ports(0) & ports(1), (ports(0), ports(1))
        containers = [{c.container for c in r.components.values()} for r in runs]
        assert not containers[0] & containers[1]
        for run in runs:
            for record in run.components.values():
                container = docker_client.containers.get(record.container)
                assert set(container.attrs["NetworkSettings"]["Networks"]) == {run.network}
                bindings = [
                    b
                    for bs in container.attrs["NetworkSettings"]["Ports"].values()
                    if bs
                    for b in bs
                ]
                assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings), bindings
                assert container.labels["stormcheck.run"] == run.run_id
                assert container.labels["stormcheck.zone"] in {"a", "b", "c"}
    finally:
        bring_down(local, first[0])
        bring_down(local, second[0])
    assert (
        _labelled(docker_client, first[1].run_id) == []
        and _labelled(docker_client, second[1].run_id) == []
    )


UP = [sys.executable, "-m", "stormcheck", "up"]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(UP, id="from-a-terminal"),
        # as a shell without job control starts a background job: SIGINT ignored, inherited
        pytest.param(["sh", "-c", 'trap "" INT; exec "$@"', "sh", *UP], id="sigint-ignored"),
    ],
)
def test_ctrl_c_during_up_tears_down_what_started(
    docker_client: DockerClient, tmp_path: Path, command: list[str]
) -> None:
    env = dict(os.environ, STORMCHECK_RUNS_DIR=str(tmp_path))
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("starting redis"):  # postgres is up, redis is starting
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=120)[0]
    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "manifest.json").exists()]
    try:
        assert proc.returncode == 130, "".join(seen) + rest
        assert _labelled(docker_client, run_dir.name) == [], "Ctrl-C left resources behind"
    finally:  # a run that Ctrl-C did not stop is the user's: take it down here, not never
        subprocess.run(
            [sys.executable, "-m", "stormcheck", "down", run_dir.name],
            env=env,
            capture_output=True,
            check=False,
            timeout=120,
        )
