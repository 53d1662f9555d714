"""`up` → `status` → `down` on the local platform, leases, and a start-up failure that leaves nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from docker import DockerClient

from stormcheck.errors import NotReadyError
from stormcheck.local.platform import start_platform
from stormcheck.local.session import prepare_images
from stormcheck.local.stacks import components_for
from stormcheck.local.volumes import find_capped_volumes
from stormcheck.runs import Lease, RunFolder, create_run
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration

STORMCHECK = [sys.executable, "-m", "stormcheck"]


def _cli(runs: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, STORMCHECK_RUNS_DIR=str(runs))
    result = subprocess.run(
        [*STORMCHECK, *args], capture_output=True, text=True, env=env, check=False, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"stormcheck {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def _labelled(client: DockerClient, run_id: str) -> dict[str, list[str]]:
    flt = {"label": f"stormcheck.run={run_id}"}
    return {
        "containers": [str(c.name) for c in client.containers.list(all=True, filters=flt)],
        "networks": [str(n.name) for n in client.networks.list(filters=flt)],
        "volumes": [str(v.name) for v in client.volumes.list(filters=flt)],
    }


def _run_id(runs: Path) -> str:
    (folder,) = [p for p in runs.iterdir() if (p / "manifest.json").exists()]
    return folder.name


def test_up_status_down_leaves_nothing_labelled(
    tmp_path: Path, docker_client: DockerClient
) -> None:
    up = _cli(tmp_path, "up", "--only", "postgres")
    run_id = _run_id(tmp_path)
    try:
        folder = RunFolder(tmp_path / run_id)
        dsn = folder.read_manifest().endpoint("postgres")
        password = str(psycopg.conninfo.conninfo_to_dict(dsn)["password"])
        assert "127.0.0.1" in dsn and password
        # The generated password is in no run file and not on the terminal: only in the
        # credentials file beside the run folder, readable by its owner alone.
        shown = dsn.replace(f":{password}@", "@")
        assert shown in up.stdout and password not in up.stdout + up.stderr
        for path in folder.root.rglob("*"):
            assert not path.is_file() or password not in path.read_text(errors="replace"), path
        assert folder.credentials_path.stat().st_mode & 0o777 == 0o600
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select current_database()").fetchone() == ("shop",)
        (data,) = find_capped_volumes(run_id)
        assert data.is_mounted(), "postgres data should be on its capped volume"

        status = _cli(tmp_path, "status", "--json")
        report = json.loads(status.stdout)
        names = [c["name"] for c in report["components"]]
        assert report["healthy"] is True and names == ["postgres"], report
    except BaseException:
        _cli(tmp_path, "down", run_id, check=False)  # a user run: nobody else would remove it
        raise

    _cli(tmp_path, "down", run_id)
    assert _labelled(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}
    assert find_capped_volumes(run_id) == [] and not data.image.exists()
    assert json.loads((tmp_path / run_id / "manifest.json").read_text())["state"] == "down"
    assert _cli(tmp_path, "status", run_id, check=False).returncode == 1


def test_status_reports_a_stopped_component_as_unhealthy(
    tmp_path: Path, docker_client: DockerClient
) -> None:
    _cli(tmp_path, "up", "--only", "redis")
    run_id = _run_id(tmp_path)
    try:
        docker_client.containers.get(f"sc-{run_id}-redis").stop(timeout=5)
        status = _cli(tmp_path, "status", run_id, "--json", check=False)
        assert status.returncode == 1
        assert json.loads(status.stdout)["components"][0]["healthy"] is False

        # started again, it is on the host port it was made with: nothing moved
        before = _redis_url(tmp_path, run_id)
        container = docker_client.containers.get(f"sc-{run_id}-redis")
        container.start()
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["6379/tcp"][0]["HostPort"]
        assert f"redis://127.0.0.1:{port}/0" == before, "the restarted container moved"
        status = _cli(tmp_path, "status", run_id, "--json", check=False)
        report = json.loads(status.stdout)
        assert report["moved"] == {}, report
        assert status.returncode == 0 and report["healthy"] is True, report
        assert redis.Redis.from_url(before).ping()

        # a run file whose endpoint is stale (a container published without a fixed port, as
        # older versions made them, moves when started again): status finds it and repairs it
        folder = RunFolder(tmp_path / run_id)
        manifest = folder.read_manifest()
        manifest.update("redis", endpoints={"redis": "redis://127.0.0.1:1/0"})
        folder.write_manifest(manifest)
        status = _cli(tmp_path, "status", run_id, "--json", check=False)
        report = json.loads(status.stdout)
        assert report["moved"] == {"redis": {"redis": before}}, report
        assert status.returncode == 0 and report["healthy"] is True, report
        assert _redis_url(tmp_path, run_id) == before
    finally:
        _cli(tmp_path, "down", run_id)


def _redis_url(runs: Path, run_id: str) -> str:
    return RunFolder(runs / run_id).read_manifest().endpoint("redis")


def test_down_all_spares_live_owners_and_reaps_dead_ones(
    tmp_path: Path, docker_client: DockerClient, settings: Settings
) -> None:
    owner_script = (
        "import sys, time\n"
        "from stormcheck.settings import load_settings\n"
        "from stormcheck.local.session import bring_up\n"
        "folder, _ = bring_up(load_settings(), owner='process', only=('redis',))\n"
        "print(folder.run_id, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = dict(os.environ, STORMCHECK_RUNS_DIR=str(tmp_path))
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert owner.stdout is not None
        run_id = owner.stdout.readline().strip()
        assert run_id, "the owner process did not bring its run up"
        kept = _cli(tmp_path, "down", "--all")
        assert f"kept     {run_id}" in kept.stdout, kept.stdout
        assert _labelled(docker_client, run_id)["containers"], "a live owner's run was removed"
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        if owner.stdout is not None:
            owner.stdout.close()
    _cli(tmp_path, "up", "--only", "redis")
    user_run = next(
        p.name for p in tmp_path.iterdir() if p.name != run_id and (p / "manifest.json").exists()
    )
    try:
        reaped = _cli(tmp_path, "down", "--all")
        assert f"removed  {run_id}  (owner gone)" in reaped.stdout, reaped.stdout
        assert _labelled(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}
        assert f"kept     {user_run}" in reaped.stdout, "a run started with `up` is the user's"
        assert _labelled(docker_client, user_run)["containers"]
    finally:
        _cli(tmp_path, "down", user_run)


def test_a_component_that_cannot_start_fails_up_with_its_logs_and_leaves_nothing(
    tmp_path: Path, docker_client: DockerClient, settings: Settings
) -> None:
    _, built = prepare_images(settings, docker_client, roles=("postgres",))
    (postgres,) = components_for("minimal", only=("postgres",))
    broken = dataclasses.replace(postgres, env={})  # no password: the entrypoint refuses to start
    folder, manifest = create_run(
        tmp_path, profile="local", stack="minimal", lease=Lease.for_current_process()
    )
    run_id = manifest.run_id
    started = time.monotonic()
    with pytest.raises(NotReadyError) as caught:
        start_platform(
            docker_client,
            folder,
            manifest,
            [broken],
            {"postgres": built[0].ref},
            ready_timeout_s=30,
        )
    assert time.monotonic() - started < 30 + 15
    message = str(caught.value)
    assert message.startswith("postgres exited") and "POSTGRES_PASSWORD" in message, message
    assert _labelled(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}
    assert find_capped_volumes(run_id) == [], "its capped data volume went with it"
    assert folder.read_manifest().state == "failed"


LIFECYCLE_PLAN = """\
plan: lifecycle
description: the minimal platform up, its smoke checks, down
stack: minimal
budget: 5m
steps:
  - {step: up, budget: 3m}
  - {step: smoke, budget: 1m}
  - {step: down, budget: 1m}
"""


def test_run_judges_the_platform_and_cleans_up(tmp_path: Path, docker_client: DockerClient) -> None:
    # the shortest plan (the quick plan's own cost belongs to `make run` and the main_job bench)
    plan = tmp_path / "lifecycle.yaml"
    plan.write_text(LIFECYCLE_PLAN, encoding="utf-8")
    runs = tmp_path / "runs"
    result = _cli(runs, "run", "--plan-file", str(plan), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = _run_id(runs)
    verdicts = json.loads((runs / run_id / "verdicts.json").read_text())
    assert {v["name"] for v in verdicts} >= {"ready/postgres", "healthy/postgres"}, verdicts
    assert all(v["outcome"] == "pass" for v in verdicts), verdicts
    assert _labelled(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}


def _as_version_1(folder: RunFolder, fixture: Path) -> str:
    """Rewrite a live run's file as the code before run-file versions wrote it (the shape of
    ``suites/self/data/run-file-v1.json``): no ``format``, plain component objects, the
    generated password inside the DSN, no credentials file. Returns the password."""
    manifest = folder.read_manifest()
    shape = json.loads(fixture.read_text(encoding="utf-8"))
    old = {key: value for key, value in manifest.to_dict().items() if key in shape}
    old["components"] = {
        name: {
            "role": record.role,
            "zone": record.zone,
            "image": record.image,
            "container": record.container,
            "endpoints": manifest.endpoints(name),  # with the password, as version 1 kept it
            "ready_s": record.ready_s,
        }
        for name, record in manifest.components.items()
    }
    assert set(old) == set(shape) and "format" not in old
    folder.manifest_path.write_text(json.dumps(old, indent=2, sort_keys=True), encoding="utf-8")
    folder.remove_credentials()
    return str(psycopg.conninfo.conninfo_to_dict(manifest.endpoint("postgres"))["password"])


def test_a_version_1_run_file_is_shown_by_status_and_taken_down(
    tmp_path: Path, docker_client: DockerClient
) -> None:
    _cli(tmp_path, "up", "--only", "postgres")
    run_id = _run_id(tmp_path)
    folder = RunFolder(tmp_path / run_id)
    try:
        password = _as_version_1(
            folder, Path(__file__).parents[1] / "self" / "data" / "run-file-v1.json"
        )
        assert password in folder.manifest_path.read_text()
        status = _cli(tmp_path, "status", run_id, "--json")
        report = json.loads(status.stdout)
        assert report["healthy"] is True, report  # the SQL check used the DSN the file carries
        assert password not in status.stdout
    except BaseException:
        _cli(tmp_path, "down", run_id, check=False)
        raise
    _cli(tmp_path, "down", run_id)
    assert _labelled(docker_client, run_id) == {"containers": [], "networks": [], "volumes": []}
    written = folder.manifest_path.read_text()
    assert json.loads(written)["state"] == "down" and json.loads(written)["format"] == 2
    assert password not in written and not folder.credentials_path.exists()
