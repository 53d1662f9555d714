"""PostgreSQL's data directory on a capped volume: full means ENOSPC inside, nothing on the host.

One PostgreSQL (the minimal stack's, ~2 s to start) on its 512 MiB loop-mounted ext4 volume.
Filling the volume makes writes inside the container fail with "No space left on device" while
the host's free disk stays put (the image was preallocated when the run started); freeing it
lets them succeed again; ``stop_run`` leaves no mount, loop device or image behind, also for a
run whose run folder or containers are already gone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.local import disk
from stormcheck.local.platform import find_run_resources, start_platform, stop_run
from stormcheck.local.session import prepare_images
from stormcheck.local.stacks import PG_DATA_DIR, PG_DATA_VOLUME_MIB, components_for
from stormcheck.local.volumes import (
    VOLUMES_ROOT,
    CappedVolume,
    create_capped_volume,
    find_capped_volumes,
)
from stormcheck.runs import Lease, Manifest, create_run, new_run_id
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration

HOST_TOLERANCE = 10 * 1024 * 1024  # bytes the host's free disk may move while the volume fills
ENOSPC = "No space left on device"


def _host_free() -> int:
    # the host filesystem that holds the images (VOLUMES_ROOT itself is not a mount)
    stat = os.statvfs(VOLUMES_ROOT)
    return stat.f_bavail * stat.f_frsize


def _mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def _loops() -> str:
    return subprocess.run(
        ["losetup", "--list", "--output", "NAME,BACK-FILE"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _traces(run_id: str) -> list[str]:
    """Everything of the run's capped volumes the host still has."""
    marker = str(VOLUMES_ROOT / run_id)
    found = [f"mount: {line}" for line in _mounts().splitlines() if marker in line]
    found += [f"loop: {line}" for line in _loops().splitlines() if marker in line]
    if (VOLUMES_ROOT / run_id).exists():
        found.append(f"folder: {VOLUMES_ROOT / run_id}")
    return found


def _exec(container: Container, *command: str) -> tuple[int, str]:
    result = container.exec_run(list(command))
    return int(result.exit_code), bytes(result.output).decode(errors="replace")


def _dead_owner() -> Lease:
    """A lease whose process has exited (its pid with a start time no live process has)."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return dataclasses.replace(Lease.for_current_process(), pid=gone.pid, pid_start=1)


@pytest.fixture(scope="module")
def postgres_image(settings: Settings, docker_client: DockerClient) -> str:
    _, built = prepare_images(settings, docker_client, roles=("postgres",))
    return built[0].ref


def _start(
    tmp_path: Path, docker_client: DockerClient, image: str, lease: Lease
) -> tuple[Manifest, Container]:
    folder, manifest = create_run(tmp_path, profile="local", stack="minimal", lease=lease)
    try:
        start_platform(
            docker_client,
            folder,
            manifest,
            components_for("minimal", only=("postgres",)),
            {"postgres": image},
            ready_timeout_s=60,
        )
    except BaseException:
        stop_run(docker_client, manifest.run_id)
        raise
    return manifest, docker_client.containers.get(manifest.components["postgres"].container)


@pytest.fixture(scope="module")
def capped_postgres(
    tmp_path_factory: pytest.TempPathFactory, docker_client: DockerClient, postgres_image: str
) -> Iterator[tuple[Manifest, Container, CappedVolume]]:
    runs = tmp_path_factory.mktemp("runs")
    manifest, container = _start(runs, docker_client, postgres_image, Lease.for_current_process())
    try:
        (volume,) = find_capped_volumes(manifest.run_id)
        yield manifest, container, volume
        # still wholly allocated on the host, seconds later (no lazy init punched holes in it)
        assert volume.image.stat().st_blocks * 512 >= PG_DATA_VOLUME_MIB * 2**20
    finally:
        stop_run(docker_client, manifest.run_id)
    assert _traces(manifest.run_id) == []


def test_the_data_directory_is_its_own_capped_ext4_filesystem(
    capped_postgres: tuple[Manifest, Container, CappedVolume],
) -> None:
    _, container, volume = capped_postgres
    assert (volume.component, volume.container_path) == ("postgres", PG_DATA_DIR)
    assert volume.is_mounted() and volume.image.stat().st_size == PG_DATA_VOLUME_MIB * 2**20
    # preallocated: every block of the image is on the host's disk already, and stays there:
    # every inode table is zeroed, so the kernel's lazy init never punches holes in the image
    assert volume.image.stat().st_blocks * 512 >= PG_DATA_VOLUME_MIB * 2**20
    groups = [
        line
        for line in subprocess.run(
            ["dumpe2fs", str(volume.image)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if line.startswith("Group ") and "(Blocks" in line
    ]
    assert groups and all("ITABLE_ZEROED" in g for g in groups), groups[:3]

    code, out = _exec(container, "df", "-P", "-B1", PG_DATA_DIR)
    assert code == 0, out
    size = int(out.splitlines()[-1].split()[1])
    cap = PG_DATA_VOLUME_MIB * 2**20
    assert 0.85 * cap <= size <= cap, f"df inside the container: {out}"
    code, out = _exec(container, "stat", "-f", "-c", "%T", PG_DATA_DIR)
    assert (code, out.strip()) == (0, "ext2/ext3"), out  # stat's name for ext4 too
    code, out = _exec(container, "ls", "-A", PG_DATA_DIR)
    assert "PG_VERSION" in out.split() and "lost+found" not in out.split(), out


def test_a_full_volume_refuses_writes_inside_while_the_host_disk_stays_put(
    capped_postgres: tuple[Manifest, Container, CappedVolume],
) -> None:
    manifest, container, volume = capped_postgres
    dsn = manifest.endpoint("postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ballast (filler text)")
    image_blocks = volume.image.stat().st_blocks
    try:
        # Other processes on the machine write too: a window in which the host moved by more
        # than the tolerance is measured again (three tries); the image's own allocated blocks,
        # checked below, are the exact evidence that the fill took no host disk.
        for _ in range(3):
            host_before = _host_free()
            record = disk.fill(manifest.run_id, "postgres")
            host_after = _host_free()
            if abs(host_after - host_before) <= HOST_TOLERANCE:
                break
            disk.free_all(manifest.run_id, "postgres")
        assert record.path == volume.fill_path and record.free_bytes == 0, record
        assert record.bytes > 0.8 * PG_DATA_VOLUME_MIB * 2**20, record.describe()
        assert disk.fill_files(manifest.run_id) == [record]

        code, out = _exec(
            container, "dd", "if=/dev/zero", f"of={PG_DATA_DIR}/probe", "bs=4k", "count=1"
        )
        assert code != 0 and ENOSPC in out, f"dd on the full volume: exit {code}: {out}"
        with (
            psycopg.connect(dsn, autocommit=True) as conn,
            pytest.raises(psycopg.OperationalError) as caught,
        ):
            conn.execute(
                "INSERT INTO ballast SELECT repeat('x', 1000) FROM generate_series(1, 20000)"
            )
        assert ENOSPC in str(caught.value), caught.value
        assert abs(host_after - host_before) <= HOST_TOLERANCE, (
            f"host free disk moved by {(host_before - host_after) / 2**20:.1f} MiB while filling"
        )
        assert volume.image.stat().st_blocks == image_blocks, "the image grew on the host"
    finally:
        freed = disk.free_all(manifest.run_id, "postgres")
    assert [r.path for r in freed] == [volume.fill_path]
    assert disk.free_all(manifest.run_id, "postgres") == []  # idempotent
    assert disk.fill_files(manifest.run_id) == []

    code, out = _exec(
        container, "dd", "if=/dev/zero", f"of={PG_DATA_DIR}/probe", "bs=4k", "count=1"
    )
    assert code == 0, f"dd after freeing: {out}"
    _exec(container, "rm", "-f", f"{PG_DATA_DIR}/probe")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO ballast SELECT repeat('x', 1000) FROM generate_series(1, 20000)")
        assert conn.execute("SELECT count(*) FROM ballast").fetchone() == (20000,)


def test_a_run_without_its_folder_is_still_cleaned_up_by_its_labels(
    tmp_path: Path, docker_client: DockerClient, postgres_image: str
) -> None:
    # owned by a process that has exited: reaping (``down --all``) would remove it
    lease = _dead_owner()
    manifest, _ = _start(tmp_path, docker_client, postgres_image, lease)
    run_id = manifest.run_id
    try:
        disk.fill(run_id, "postgres")
        shutil.rmtree(tmp_path / run_id)
        (found,) = [r for r in find_run_resources(docker_client) if r.run_id == run_id]
        assert not found.lease.owner_alive()
        assert found.capped_volumes == (str(find_capped_volumes(run_id)[0].image),)
    finally:
        removed = stop_run(docker_client, run_id)
    assert len(removed.capped_volumes) == 1 and removed.containers
    assert _traces(run_id) == []
    assert [r for r in find_run_resources(docker_client) if r.run_id == run_id] == []


def test_a_volume_left_without_containers_is_found_and_removed_by_its_run_id(
    docker_client: DockerClient,
) -> None:
    # a run that died between making a capped volume and starting its container
    run_id = new_run_id()
    lease = _dead_owner()
    labels = {"stormcheck.run": run_id, **lease.to_labels()}
    try:
        volume = create_capped_volume(run_id, "pg-1", PG_DATA_DIR, 16, labels)
        assert volume.is_mounted() and volume.data_dir.is_dir()
        assert json.loads((VOLUMES_ROOT / run_id / "labels.json").read_text()) == labels
        (found,) = [r for r in find_run_resources(docker_client) if r.run_id == run_id]
        assert found.containers == () and found.capped_volumes == (str(volume.image),)
        assert found.lease == dataclasses.replace(lease, heartbeat_ms=0)
        assert not found.lease.owner_alive()
    finally:
        removed = stop_run(docker_client, run_id)
    assert removed.capped_volumes == (str(volume.image),)
    assert _traces(run_id) == []
