"""Run ids, the run folder layout, the run file and the owner's lease."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.runs import (
    MANIFEST_FORMAT,
    ComponentRecord,
    Lease,
    Manifest,
    RunFolder,
    find_run,
    list_runs,
    new_run_id,
)
from stormcheck.timeline import EventKind
from stormcheck.verdict import Verdict

pytestmark = pytest.mark.unit

RUN_FILE_V1 = Path(__file__).parent / "data" / "run-file-v1.json"


def _manifest(run_id: str, state: str = "up") -> Manifest:
    return Manifest(
        run_id=run_id,
        profile="local",
        stack="minimal",
        created_ms=1,
        lease=Lease.for_current_process(),
        state=state,
    )


def test_run_ids_sort_by_time_and_do_not_collide() -> None:
    ids = {new_run_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", i) for i in ids)
    assert new_run_id(0) < new_run_id(86_400_000)


def test_run_folder_layout(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    assert folder.journals_dir.is_dir() and folder.logs_dir.is_dir()
    names = {
        p.name
        for p in (
            folder.manifest_path,
            folder.timeline_path,
            folder.requests_path,
            folder.verdicts_path,
        )
    }
    assert names == {"manifest.json", "timeline.jsonl", "requests.jsonl", "verdicts.json"}
    folder.timeline.record(EventKind.NOTE, "hello")
    assert folder.timeline_path.exists()


def _postgres(dsn: str = "postgresql://postgres:pa%2Fss@127.0.0.1:5432/shop") -> ComponentRecord:
    return ComponentRecord(
        name="postgres",
        role="postgres",
        zone="a",
        image="stormcheck/postgres:abc",
        container="sc-r1-postgres",
        address="172.30.0.2",
        endpoints={"postgres": dsn},
        ready_s=1.5,
    )


def test_manifest_round_trips_typed_records(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    manifest = _manifest("r1")
    manifest.add(_postgres())
    manifest.update("postgres", webhook="http://172.30.0.1:9/alerts")
    folder.write_manifest(manifest)
    back = folder.read_manifest()
    assert back == manifest
    assert back.component("postgres").address == "172.30.0.2"
    assert back.component("postgres").webhook == "http://172.30.0.1:9/alerts"
    assert json.loads(folder.manifest_path.read_text())["format"] == MANIFEST_FORMAT


def test_passwords_stay_out_of_the_run_file_and_come_back_on_use(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    manifest = _manifest("r1")
    manifest.add(_postgres())
    folder.write_manifest(manifest)
    assert (
        "pa%2Fss" not in folder.manifest_path.read_text()
        and "pa/ss" not in folder.manifest_path.read_text()
    )
    assert manifest.component("postgres").endpoints["postgres"] == (
        "postgresql://postgres@127.0.0.1:5432/shop"
    )
    assert folder.credentials_path.parent != folder.root
    assert folder.credentials_path.stat().st_mode & 0o777 == 0o600
    again = folder.read_manifest()
    assert again.endpoint("postgres") == "postgresql://postgres:pa%2Fss@127.0.0.1:5432/shop"
    assert again.endpoints("postgres") == {"postgres": again.endpoint("postgres")}


def test_a_missing_component_or_endpoint_names_what_the_run_has(tmp_path: Path) -> None:
    manifest = _manifest("r1")
    manifest.add(_postgres())
    with pytest.raises(RunNotFoundError, match=r"no component 'redis' \(it has: postgres\)"):
        manifest.endpoint("redis")
    with pytest.raises(RunNotFoundError, match=r"no endpoint 'api' \(it has: postgres\)"):
        manifest.endpoint("postgres", "api")


def test_a_version_1_run_file_is_read_and_its_password_moves_out(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "20261126T124935Z-3fa2c1").create()
    shutil.copy(RUN_FILE_V1, folder.manifest_path)
    manifest = folder.read_manifest()
    assert manifest.state == "up" and manifest.stack == "minimal"
    assert set(manifest.components) == {"postgres", "redis", "alertmanager", "shop-1"}
    assert manifest.component("alertmanager").webhook == "http://172.18.0.1:41733/alerts"
    calibration = manifest.component("shop-1").calibration
    assert calibration is not None and calibration.rate_rps == 40.0
    assert manifest.endpoint("postgres") == "postgresql://postgres:v1-secret@127.0.0.1:32770/shop"
    folder.write_manifest(manifest)  # any later write (e.g. `down`) moves the password out
    assert "v1-secret" not in folder.manifest_path.read_text()
    assert folder.read_manifest().endpoint("postgres") == manifest.endpoint("postgres")


def test_a_run_file_of_a_newer_format_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    data = _manifest("r1").to_dict() | {"format": MANIFEST_FORMAT + 1}
    folder.manifest_path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        folder.read_manifest()
    message = str(refused.value)
    assert "\n" not in message and str(folder.manifest_path) in message
    assert f"format {MANIFEST_FORMAT + 1}" in message and "newer stormcheck" in message


def test_malformed_run_file_names_the_file_and_field(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    folder.manifest_path.write_text(json.dumps({"run_id": "r1"}), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=rf"run file {folder.manifest_path}: missing or malformed field 'profile'"
    ):
        folder.read_manifest()


def test_verdicts_round_trip(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    verdicts = [Verdict.passed("a", "ok"), Verdict.inconclusive("b", "no data")]
    folder.write_verdicts(verdicts)
    assert folder.read_verdicts() == verdicts


def test_find_run_by_prefix_or_newest_up(tmp_path: Path) -> None:
    for run_id, state in (("20260101T000000Z-aaaaaa", "up"), ("20260102T000000Z-bbbbbb", "down")):
        RunFolder(tmp_path / run_id).create().write_manifest(_manifest(run_id, state))
    assert [r.run_id for r in list_runs(tmp_path)] == [
        "20260101T000000Z-aaaaaa",
        "20260102T000000Z-bbbbbb",
    ]
    assert find_run(tmp_path, "20260102").run_id == "20260102T000000Z-bbbbbb"
    assert find_run(tmp_path, None).run_id == "20260101T000000Z-aaaaaa"
    RunFolder(tmp_path / "20260103T000000Z-cccccc").create().write_manifest(
        _manifest("20260103T000000Z-cccccc", "up")
    )
    with pytest.raises(RunNotFoundError, match=r"2 runs are up .*aaaaaa, .*cccccc.*name the one"):
        find_run(tmp_path, None)
    with pytest.raises(RunNotFoundError, match="3 runs"):
        find_run(tmp_path, "2026")
    with pytest.raises(RunNotFoundError, match="no run"):
        find_run(tmp_path, "1999")


def test_lease_of_a_live_process_is_alive_and_survives_labels() -> None:
    lease = Lease.for_current_process()
    assert lease.owner_alive()
    assert Lease.from_labels(lease.to_labels()).owner_alive()


def test_lease_of_a_finished_process_is_dead() -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from stormcheck.runs import Lease; import json; print(json.dumps(Lease.for_current_process().to_dict()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lease = Lease.from_dict(json.loads(child.stdout))
    assert not lease.owner_alive()


def test_lease_from_another_boot_is_dead() -> None:
    lease = Lease.for_current_process()
    stale = Lease.from_dict(lease.to_dict() | {"boot_id": "another-boot"})
    assert not stale.owner_alive()


def test_a_calibration_without_a_p99_threshold_reads_back() -> None:
    from stormcheck.runs import CalibrationRecord

    stored = {
        "rate_rps": 42.0,
        "at_ms": 1,
        "step_s": 10.0,
        "bounded_by_generator": False,
        "generator_budget_cores": 0.5,
        "thresholds": {"p95_ms": 500.0, "p99_ms": None, "error_ratio": 0.01},
        "steps": [],
    }
    record = CalibrationRecord.from_dict(stored)
    assert record.thresholds == {"p95_ms": 500.0, "error_ratio": 0.01}
    assert CalibrationRecord.from_dict(record.to_dict()) == record
