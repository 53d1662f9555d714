"""Run ids, the run folder layout, the run file and the owner's lease."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.runs import Lease, Manifest, RunFolder, find_run, list_runs, new_run_id
from stormcheck.timeline import EventKind
from stormcheck.verdict import Verdict

pytestmark = pytest.mark.unit


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


def test_manifest_round_trips(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "r1").create()
    manifest = _manifest("r1")
    manifest.components["postgres"] = {"endpoints": {"postgres": "postgresql://x"}}
    folder.write_manifest(manifest)
    assert folder.read_manifest() == manifest


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
    with pytest.raises(RunNotFoundError, match="2 runs"):
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
