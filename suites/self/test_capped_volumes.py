"""The capped-volume declaration, and the fill mechanism's refusals (no Docker, no mount)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError, PlatformError
from stormcheck.local import disk
from stormcheck.local.component import CAPPED_VOLUME_MIB, Component
from stormcheck.local.stacks import PG_DATA_DIR, PG_DATA_VOLUME_MIB, components_for
from stormcheck.local.volumes import (
    RemovedVolumes,
    capped_volume_runs,
    create_capped_volume,
    find_capped_volumes,
    remove_capped_volumes,
)

pytestmark = pytest.mark.unit


def _component(**changes: object) -> Component:
    (postgres,) = components_for("minimal", only=("postgres",))
    return dataclasses.replace(postgres, **changes)  # type: ignore[arg-type]


def test_every_postgresql_member_keeps_its_data_on_a_capped_volume() -> None:
    members = components_for("minimal", only=("postgres",)) + components_for(
        "full", only=("pg-1", "pg-2")
    )
    for member in members:
        assert member.capped_volumes == {PG_DATA_DIR: PG_DATA_VOLUME_MIB}, member.name
        assert PG_DATA_DIR not in member.volumes, f"{member.name}: a Docker volume is uncapped"
    low, high = CAPPED_VOLUME_MIB
    assert low <= PG_DATA_VOLUME_MIB <= high


@pytest.mark.parametrize(
    "size", [0, -256, CAPPED_VOLUME_MIB[0] - 1, CAPPED_VOLUME_MIB[1] + 1, True, 256.5, "256"]
)
def test_a_bad_size_is_refused_in_one_line_naming_the_component_and_path(size: object) -> None:
    with pytest.raises(ConfigError) as caught:
        _component(capped_volumes={PG_DATA_DIR: size})
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        f"component postgres: capped_volumes['{PG_DATA_DIR}'] = {size!r}: expected a whole"
        f" number of MiB from {CAPPED_VOLUME_MIB[0]} to {CAPPED_VOLUME_MIB[1]}"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"capped_volumes": {"data": 256}}, "expected an absolute container path below /"),
        ({"capped_volumes": {"/": 256}}, "expected an absolute container path below /"),
        (
            {"capped_volumes": {"/data": 256}, "volumes": {"/data": "data"}},
            "the path is also in volumes or tmpfs; expected one",
        ),
    ],
)
def test_a_bad_path_is_refused_in_one_line(changes: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError, match=r"^component postgres: capped_volumes\[") as caught:
        _component(**changes)
    assert str(caught.value).endswith(expected)


def test_filling_a_run_without_capped_volumes_names_what_the_run_has(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as caught:
        disk.fill("20261126T124935Z-3fa2c1", "postgres", root=tmp_path)
    assert str(caught.value) == (
        "run 20261126T124935Z-3fa2c1 has no capped volume postgres; capped volumes of the run: none"
    )
    assert disk.fill_files("20261126T124935Z-3fa2c1", root=tmp_path) == []
    assert disk.free_all("20261126T124935Z-3fa2c1", root=tmp_path) == []


def test_an_unmounted_volume_is_never_filled_the_host_disk_would_be(tmp_path: Path) -> None:
    # what a volume looks like on the host once its mount is gone: image, description, folder
    folder = tmp_path / "run-1" / "pg-1"
    (folder / "var-lib-postgresql-data").mkdir(parents=True)
    (folder / "var-lib-postgresql-data.img").write_bytes(b"")
    (folder / "var-lib-postgresql-data.json").write_text(
        json.dumps({"container_path": PG_DATA_DIR, "size_mib": 64})
    )
    (volume,) = find_capped_volumes("run-1", root=tmp_path)
    assert (volume.component, volume.container_path, volume.size_mib) == ("pg-1", PG_DATA_DIR, 64)
    assert capped_volume_runs(tmp_path) == ["run-1"]

    with pytest.raises(PlatformError, match=r"is not mounted at .*refusing to fill"):
        disk.fill("run-1", "pg-1", root=tmp_path)
    assert not volume.fill_path.exists()
    with pytest.raises(PlatformError, match=r"has no capped volume pg-2; .*: pg-1:/var/lib"):
        disk.fill("run-1", "pg-2", root=tmp_path)


def test_free_deletes_nothing_but_the_fill_file_of_its_volume(tmp_path: Path) -> None:
    folder = tmp_path / "run-1" / "pg-1"
    folder.mkdir(parents=True)
    (folder / "data.img").write_bytes(b"")
    (folder / "data.json").write_text(json.dumps({"container_path": "/data", "size_mib": 64}))
    precious = tmp_path / "precious"
    precious.write_text("keep")
    forged = disk.FillRecord("run-1", "pg-1", "/data", precious, 4, 0)
    with pytest.raises(PlatformError, match="is not the fill file of pg-1:/data"):
        disk.free(forged, root=tmp_path)
    assert precious.read_text() == "keep"
    gone = disk.FillRecord("run-2", "pg-1", "/data", precious, 4, 0)
    assert disk.free(gone, root=tmp_path) is False  # its run's volumes are gone: nothing to do


@pytest.mark.parametrize("run_id", ["../etc", "", "a/b", ".hidden"])
def test_a_run_id_that_is_not_one_path_segment_never_names_a_volume(
    run_id: str, tmp_path: Path
) -> None:
    with pytest.raises(PlatformError, match="cannot name a capped volume"):
        create_capped_volume(run_id, "pg-1", PG_DATA_DIR, 64, {}, root=tmp_path)
    assert find_capped_volumes(run_id, root=tmp_path) == []
    assert remove_capped_volumes(run_id, root=tmp_path) == RemovedVolumes((), ())
    assert list(tmp_path.iterdir()) == []
