"""``stormcheck runs``: what a person sees, and one clear line for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from stormcheck.cli import main
from stormcheck.runs import Lease, create_run

pytestmark = pytest.mark.unit

DEAD = Lease(kind="process", pid=1, pid_start=0, boot_id="gone", host="elsewhere", heartbeat_ms=0)


def _stormcheck(runs_dir: Path, *args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(["--set", f"runs_dir={runs_dir}", *args])
    return int(done.value.code or 0)


def _runs(runs_dir: Path, count: int) -> list[str]:
    ids = []
    for i in range(count):
        folder, manifest = create_run(
            runs_dir,
            profile="local",
            stack="minimal",
            lease=DEAD,
            run_id=f"2026120{i}T000000Z-abc00{i}",
        )
        manifest.state = "down"
        folder.write_manifest(manifest)
        ids.append(manifest.run_id)
    return ids


def test_list_show_baseline_and_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs_dir = tmp_path / "runs"
    ids = _runs(runs_dir, 3)
    assert _stormcheck(runs_dir, "runs", "list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ids
    assert _stormcheck(runs_dir, "runs", "baseline", "set", "golden", ids[0][:9]) == 0
    assert capsys.readouterr().out.strip() == f"baseline golden -> run {ids[0]}"
    assert _stormcheck(runs_dir, "runs", "show", ids[0]) == 0
    shown = capsys.readouterr().out
    assert f"run {ids[0]}" in shown and "baseline of: golden" in shown
    assert _stormcheck(runs_dir, "runs", "prune", "--keep", "1") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"removed {ids[1]}",
        "removed 1 run(s), kept the 1 newest and every baseline",
    ]
    assert sorted(p.name for p in runs_dir.iterdir()) == [ids[0], ids[2]]


def test_an_unknown_run_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir = tmp_path / "runs"
    _runs(runs_dir, 1)
    assert _stormcheck(runs_dir, "runs", "show", "19990101") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: no run in the run store") and "'19990101'" in err


def test_a_corrupt_store_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_dir = tmp_path / "runs"
    (tmp_path / "runstore.sqlite").write_bytes(b"\x00garbage" * 512)
    assert _stormcheck(runs_dir, "runs", "list") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"run store {tmp_path / 'runstore.sqlite'}: not a readable SQLite database" in err


def test_prune_refuses_a_negative_keep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _stormcheck(tmp_path / "runs", "runs", "prune", "--keep", "-1") == 2
    assert "--keep" in capsys.readouterr().err
