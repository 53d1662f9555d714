"""The run store: runs, their verdicts per SLO and experiment, baselines, migrations and pruning."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.runs import Lease, RunFolder, create_run
from stormcheck.runstore import SCHEMA_VERSION, images_key, open_store, store_path
from stormcheck.runstore.schema import MIGRATIONS
from stormcheck.verdict import Evidence, SliEvidence, Verdict, Window

pytestmark = pytest.mark.unit

DEAD = Lease(kind="process", pid=1, pid_start=0, boot_id="gone", host="elsewhere", heartbeat_ms=0)


def _run(runs_dir: Path, run_id: str, *, state: str = "down", lease: Lease = DEAD) -> RunFolder:
    folder, manifest = create_run(
        runs_dir, profile="local", stack="full", lease=lease, run_id=run_id
    )
    manifest.state = state
    folder.write_manifest(manifest)
    slo = Verdict.failed(
        "slo/availability",
        "availability 97.1% < 99.5% over the fault window",
        Evidence(
            description="availability over the window",
            window=Window(1_000, 61_000),
            observed=0.971,
            objective=0.995,
            budget_spent=0.042,
            sli=SliEvidence(slo_file="platform/slo/availability.yaml"),
        ),
    )
    ready = Verdict.passed(
        "ready/shop-1",
        "shop-1 passed its readiness check after 2.6 s",
        Evidence(description="readiness"),
    )
    folder.write_verdicts([ready, slo])
    return folder


def _judged(folder: RunFolder, stem: str, *, met: bool) -> None:
    verdict = Verdict.failed(
        f"{stem}/latency",
        "p95 812 ms > 500 ms in the fault window",
        Evidence(description="p95 latency", observed=812.0, budget_spent=0.01),
    )
    result = {
        "format": 1,
        "experiment": stem,
        "title": f"Does the shop survive {stem}?",
        "journal": f"journals/{stem}.json",
        "verdicts": [verdict.to_dict()],
        "met": met,
        "detect_s": 12.5,
        "recover_s": 9.0,
    }
    (folder.root / "resilience").mkdir(exist_ok=True)
    (folder.root / "resilience" / f"{stem}.json").write_text(json.dumps(result))
    verdicts = [*folder.read_verdicts(), verdict]  # the judge appends its verdicts too
    folder.write_verdicts(verdicts)


def test_a_recorded_run_keeps_its_verdicts_per_slo_and_experiment(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    folder = _run(runs_dir, "20261201T000000Z-aaaaaa")
    _judged(folder, "postgres_latency", met=True)
    with open_store(runs_dir) as store:
        store.record(folder, plan="quick", exit_code=0)
        (run,) = store.runs()
        verdicts = store.verdicts(run.run_id)
        (experiment,) = store.experiments(run.run_id)
    assert store.path == store_path(runs_dir) == tmp_path / "runstore.sqlite"
    assert (run.plan, run.exit_code, run.outcome, run.verdict_count) == ("quick", 0, "fail", 3)
    by_name = {v.name: v for v in verdicts}
    assert by_name["slo/availability"].slo == "platform/slo/availability.yaml"
    assert by_name["slo/availability"].budget_spent == pytest.approx(0.042)
    assert by_name["slo/availability"].experiment is None
    # the judge's verdict is kept once, attributed to its experiment
    assert by_name["postgres_latency/latency"].experiment == "postgres_latency"
    assert [v.name for v in verdicts].count("postgres_latency/latency") == 1
    assert experiment.met and experiment.detect_s == 12.5 and experiment.recover_s == 9.0
    assert experiment.result == "resilience/postgres_latency.json"


def test_recording_again_replaces_the_rows_and_keeps_plan_and_exit_code(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    folder = _run(runs_dir, "20261201T000000Z-aaaaaa")
    with open_store(runs_dir) as store:
        store.record(folder, plan="nightly", exit_code=1)
        folder.write_verdicts(folder.read_verdicts()[:1])
        store.record(folder)
        (run,) = store.runs()
    assert (run.plan, run.exit_code, run.verdict_count, run.outcome) == ("nightly", 1, 1, "pass")


def test_sync_indexes_every_run_folder_it_does_not_know(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    for i in range(3):
        _run(runs_dir, f"20261201T00000{i}Z-aaaaaa")
    with open_store(runs_dir) as store:
        assert len(store.sync()) == 3
        assert store.sync() == []
        assert [r.run_id for r in store.runs()] == [f"20261201T00000{i}Z-aaaaaa" for i in range(3)]


def test_an_older_schema_is_migrated_on_open_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "runstore.sqlite"
    old = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO runs VALUES ('20261101T000000Z-000001', 5, 'local', 'minimal', 'down',"
        " 'pass', ?)",
        (str(tmp_path / "runs" / "20261101T000000Z-000001"),),
    )
    old.execute(
        "INSERT INTO verdicts VALUES ('20261101T000000Z-000001', 0, 'ready/shop-1', 'pass',"
        " 'ready after 2.0 s', NULL)"
    )
    old.commit()
    old.close()
    with open_store(tmp_path / "runs") as store:
        (run,) = store.runs()
        (verdict,) = store.verdicts(run.run_id)
        assert run.plan is None and verdict.experiment is None
        version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION == len(MIGRATIONS)
    assert (run.run_id, verdict.name, verdict.reason) == (
        "20261101T000000Z-000001",
        "ready/shop-1",
        "ready after 2.0 s",
    )


def test_a_store_from_a_newer_stormcheck_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "runstore.sqlite"
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    with pytest.raises(
        ConfigError, match=rf"runstore\.sqlite: schema version {SCHEMA_VERSION + 1} is newer"
    ):
        open_store(tmp_path / "runs")


def test_a_corrupt_store_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "runstore.sqlite"
    path.write_bytes(b"this is not a database, just sixteen+ bytes of text" * 40)
    with pytest.raises(ConfigError) as caught:
        open_store(tmp_path / "runs")
    message = str(caught.value)
    assert str(path) in message and "not a readable SQLite database" in message
    assert "\n" not in message


def test_a_malformed_resilience_result_names_its_file_and_field(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    folder = _run(runs_dir, "20261201T000000Z-aaaaaa")
    (folder.root / "resilience").mkdir()
    bad = folder.root / "resilience" / "replica_killed.json"
    bad.write_text(json.dumps({"experiment": "replica_killed", "met": "yes"}))
    with open_store(runs_dir) as store, pytest.raises(ConfigError) as caught:
        store.record(folder)
    assert str(caught.value) == f"{bad}: field 'met': expected true or false, got 'yes'"


def test_baselines_name_runs_and_unknown_runs_are_refused(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    first = _run(runs_dir, "20261201T000000Z-aaaaaa")
    second = _run(runs_dir, "20261202T000000Z-bbbbbb")
    with open_store(runs_dir) as store:
        store.sync()
        store.set_baseline("release-1.4", "20261201")
        store.set_baseline("release-1.4", second.run_id)  # moved
        store.set_baseline("nightly", first.run_id)
        named = {b.name: b.run_id for b in store.baselines()}
        with pytest.raises(RunNotFoundError, match="no run in the run store"):
            store.set_baseline("x", "nope")
        with pytest.raises(RunNotFoundError, match="2 runs"):
            store.get("2026120")
        with pytest.raises(ConfigError, match="without spaces"):
            store.set_baseline("two words", first.run_id)
    assert named == {"release-1.4": second.run_id, "nightly": first.run_id}


def test_prune_removes_folders_and_rows_together_and_keeps_baselines(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    ids = [f"2026120{i}T000000Z-aaaaaa" for i in range(1, 7)]
    folders = [_run(runs_dir, i) for i in ids]
    live = _run(runs_dir, "20261200T000000Z-live00", state="up", lease=Lease.for_current_process())
    with open_store(runs_dir) as store:
        store.sync()
        store.set_baseline("golden", ids[0])
        assert store.prune(2, dry_run=True) == ids[1:4]
        removed = store.prune(2)
        left = [r.run_id for r in store.runs()]
    assert removed == ids[1:4]
    assert left == [live.run_id, ids[0], ids[4], ids[5]]
    assert [f.root.exists() for f in folders] == [True, False, False, False, True, True]
    assert live.root.exists()
    assert not list(runs_dir.glob(".pruning-*"))


def test_rows_whose_folder_is_gone_are_pruned(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    kept = _run(runs_dir, "20261201T000000Z-aaaaaa")
    gone = _run(runs_dir, "20261202T000000Z-bbbbbb")
    with open_store(runs_dir) as store:
        store.sync()
        for path in sorted(gone.root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        gone.root.rmdir()
        assert store.prune(5) == [gone.run_id]
        assert [r.run_id for r in store.runs()] == [kept.run_id]


def test_an_interrupted_prune_is_undone_or_finished_on_open(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    still_indexed = _run(runs_dir, "20261201T000000Z-aaaaaa")
    forgotten = _run(runs_dir, "20261202T000000Z-bbbbbb")
    with open_store(runs_dir) as store:
        store.record(still_indexed)
    # a crash after the rename but before the rows' deletion committed, and one after it did
    still_indexed.root.rename(runs_dir / f".pruning-{still_indexed.run_id}")
    forgotten.root.rename(runs_dir / f".pruning-{forgotten.run_id}")
    with open_store(runs_dir) as store:
        assert [r.run_id for r in store.runs()] == [still_indexed.run_id]
    assert still_indexed.manifest_path.is_file()
    assert not (runs_dir / f".pruning-{forgotten.run_id}").exists()
    assert not list(runs_dir.glob(".pruning-*"))


def test_a_calibration_is_kept_per_image_set_and_the_score_per_run(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    folder = _run(runs_dir, "20261201T000000Z-aaaaaa")
    images = {"shop": "sha256:aa", "postgres": "sha256:bb"}
    key = images_key(images)
    assert key == images_key(dict(reversed(list(images.items()))))
    assert key != images_key({**images, "shop": "sha256:cc"})  # a rebuilt image: calibrate again
    record = {"rate_rps": 25.0, "at_ms": 7, "steps": []}
    with open_store(runs_dir) as store:
        assert store.calibration(key) is None
        store.keep_calibration(key, folder.run_id, "ingress", record)
        kept = store.calibration(key)
        store.record(folder, plan="quick", exit_code=0, score=87.5)
        store.record(folder)  # recorded again without a score: the score stays
        (run,) = store.runs()
    assert kept is not None
    assert (kept.rate_rps, kept.component, kept.record) == (25.0, "ingress", record)
    assert run.score == 87.5


def test_the_trend_gives_score_recovery_and_budget_per_run(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    first = _run(runs_dir, "20261201T000000Z-aaaaaa")
    _judged(first, "postgres_latency", met=True)
    second = _run(runs_dir, "20261202T000000Z-bbbbbb")
    with open_store(runs_dir) as store:
        store.record(first, plan="quick", score=100.0)
        store.record(second, plan="quick", score=75.0)
        points = store.trend("quick")
        assert store.trend("nightly") == []
    assert [(p.run_id, p.score) for p in points] == [(first.run_id, 100.0), (second.run_id, 75.0)]
    assert points[0].recover_s == {"postgres_latency": 9.0}
    assert points[0].budget_spent == {
        "slo/availability": pytest.approx(0.042),
        "postgres_latency/latency": pytest.approx(0.01),
    }
    assert points[1].recover_s == {}
    assert points[0].worst_budget == {
        None: pytest.approx(0.042),
        "postgres_latency": pytest.approx(0.01),
    }
    with open_store(runs_dir) as store:
        assert [p.run_id for p in store.trend("quick", until=first.run_id)] == [first.run_id]
