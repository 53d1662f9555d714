"""The run store: an embedded SQLite index of runs, their verdicts and named baselines.

The store lives beside the run folders (``reports/runstore.sqlite`` for ``reports/runs/``) and
indexes them; the folders stay the evidence. Each run is one row with its verdicts (per SLO and
per experiment) and the judge's results; a baseline names a run that later runs are compared
with. Opening a store applies the schema's missing migrations (:mod:`stormcheck.runstore.schema`).

Pruning removes a run's folder and its rows together. The folder is first renamed out of the
way (``.pruning-<id>``) inside the transaction that deletes the rows; if that transaction does not
commit, the folder is renamed back. A crash between the two leaves a ``.pruning-`` folder, which
the next :func:`open_store` restores (its rows are still there) or finishes deleting (they are
not). So the store never points at a folder that is gone because of a prune.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError, RunNotFoundError
from stormcheck.runs import RunFolder, list_runs
from stormcheck.runstore.records import ExperimentRow, RunRecord, VerdictRow, read_run
from stormcheck.runstore.schema import MIGRATIONS, SCHEMA_VERSION
from stormcheck.timeline import now_ms

__all__ = [
    "STORE_NAME",
    "Baseline",
    "RunStore",
    "StoredCalibration",
    "StoredRun",
    "TrendPoint",
    "images_key",
    "migrate",
    "open_store",
    "store_path",
]

STORE_NAME = "runstore.sqlite"
_PRUNING = ".pruning-"


def store_path(runs_dir: Path) -> Path:
    """Where the store of the run folders under ``runs_dir`` lives: beside them."""
    return runs_dir.parent / STORE_NAME


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRun:
    """A run as the store lists it."""

    run_id: str
    created_ms: int
    profile: str
    stack: str
    state: str
    outcome: str | None
    plan: str | None
    exit_code: int | None
    git_commit: str | None
    folder: Path
    verdict_count: int
    baselines: tuple[str, ...]
    score: float | None = None

    @property
    def folder_exists(self) -> bool:
        """Whether the run's folder is still there."""
        return (self.folder / "manifest.json").is_file()


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """A named run that later runs are compared with."""

    name: str
    run_id: str
    set_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCalibration:
    """A calibration kept for the set of images it was measured on."""

    images: str
    run_id: str
    component: str
    rate_rps: float
    record: dict[str, Any]
    at_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendPoint:
    """One run's figures for trend plots: its score, each experiment's time to recover, and the
    error budget spent per verdict that measured one.

    ``worst_budget`` is the largest budget spent among each experiment's verdicts (key: the
    experiment), and among the verdicts of no experiment (key ``None``: the gate's SLOs).
    """

    run_id: str
    created_ms: int
    score: float | None
    recover_s: dict[str, float | None]
    budget_spent: dict[str, float]
    worst_budget: dict[str | None, float] = field(default_factory=dict)


def images_key(image_ids: dict[str, str]) -> str:
    """One key for a run's images (role -> image id): equal exactly when every image is."""
    text = "\n".join(f"{role}={image}" for role, image in sorted(image_ids.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA busy_timeout = 30000")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _unreadable(path, exc) from None
    return connection


def _unreadable(path: Path, exc: sqlite3.Error) -> ConfigError:
    return ConfigError(
        f"run store {path}: not a readable SQLite database ({exc}); move it aside and the next"
        " `stormcheck runs list` indexes the run folders again (named baselines are lost)"
    )


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def migrate(connection: sqlite3.Connection, path: Path) -> int:
    """Apply the migrations ``connection``'s store lacks; return the version it had."""
    with _transaction(connection):
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"run store {path}: schema version {version} is newer than this stormcheck's"
                f" ({SCHEMA_VERSION}); it was written by a newer stormcheck"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
    return int(version)


class RunStore:
    """An open run store; use :func:`open_store`. Close it with :meth:`close` (or ``with``)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, runs_dir: Path) -> None:
        self._db = connection
        self.path = path
        self.runs_dir = runs_dir

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- writing -----------------------------------------------------------------------------

    def record(
        self,
        folder: RunFolder,
        *,
        plan: str | None = None,
        exit_code: int | None = None,
        score: float | None = None,
    ) -> RunRecord:
        """Index the run in ``folder`` (again: its earlier rows are replaced); return the record.

        ``plan``, ``exit_code`` and ``score`` (the resilience score, 0-100) are kept from an
        earlier record when not given.
        """
        record = read_run(folder)
        with self._guard(), _transaction(self._db) as db:
            earlier = db.execute(
                "SELECT plan, exit_code, score FROM runs WHERE run_id = ?", (record.run_id,)
            ).fetchone()
            if earlier is not None:
                plan = plan if plan is not None else earlier[0]
                exit_code = exit_code if exit_code is not None else earlier[1]
                score = score if score is not None else earlier[2]
            db.execute(
                "INSERT INTO runs (run_id, created_ms, profile, stack, state, outcome, folder,"
                " plan, exit_code, git_commit, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET state = excluded.state,"
                " outcome = excluded.outcome, folder = excluded.folder, plan = excluded.plan,"
                " exit_code = excluded.exit_code, git_commit = excluded.git_commit,"
                " score = excluded.score",
                (
                    record.run_id,
                    record.created_ms,
                    record.profile,
                    record.stack,
                    record.state,
                    record.outcome,
                    str(record.folder),
                    plan,
                    exit_code,
                    record.git_commit,
                    score,
                ),
            )
            db.execute("DELETE FROM verdicts WHERE run_id = ?", (record.run_id,))
            db.execute("DELETE FROM experiments WHERE run_id = ?", (record.run_id,))
            db.executemany(
                "INSERT INTO verdicts (run_id, position, name, outcome, reason, budget_spent,"
                " experiment, slo, observed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        record.run_id,
                        i,
                        v.name,
                        v.outcome,
                        v.reason,
                        v.budget_spent,
                        v.experiment,
                        v.slo,
                        v.observed,
                    )
                    for i, v in enumerate(record.verdicts)
                ],
            )
            db.executemany(
                "INSERT INTO experiments (run_id, experiment, title, met, detect_s, recover_s,"
                " result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        record.run_id,
                        e.experiment,
                        e.title,
                        int(e.met),
                        e.detect_s,
                        e.recover_s,
                        e.result,
                    )
                    for e in record.experiments
                ],
            )
        return record

    def sync(self) -> list[str]:
        """Index every run folder the store does not know, or whose state changed; return their ids."""
        known = dict(self._db.execute("SELECT run_id, state FROM runs").fetchall())
        changed = []
        for folder in list_runs(self.runs_dir):
            state = folder.read_manifest().state
            if known.get(folder.run_id) != state:
                self.record(folder)
                changed.append(folder.run_id)
        return changed

    def set_baseline(self, name: str, run_id: str) -> Baseline:
        """Name run ``run_id`` (or a unique prefix) as baseline ``name`` (replacing an earlier one)."""
        if not name.strip() or any(c.isspace() for c in name):
            raise ConfigError(f"baseline name {name!r}: expected a word without spaces")
        run = self.get(run_id)
        baseline = Baseline(name=name, run_id=run.run_id, set_ms=now_ms())
        with self._guard(), _transaction(self._db) as db:
            db.execute(
                "INSERT INTO baselines (name, run_id, set_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id,"
                " set_ms = excluded.set_ms",
                (baseline.name, baseline.run_id, baseline.set_ms),
            )
        return baseline

    def prune(self, keep: int, *, dry_run: bool = False) -> list[str]:
        """Remove all but the ``keep`` newest runs, folders and rows together; return their ids.

        Never removed: a baseline's run, and a run that is not down whose owner still lives.
        Rows whose folder is already gone are dropped too.
        """
        if keep < 0:
            raise ConfigError(f"prune --keep {keep}: expected a number of runs >= 0")
        runs = self.runs()
        protected = {r.run_id for r in runs if r.baselines}
        for folder in list_runs(self.runs_dir):
            manifest = folder.read_manifest()
            if manifest.state not in {"down", "failed"} and manifest.lease.owner_alive():
                protected.add(folder.run_id)
        present = sorted((r for r in runs if r.folder_exists), key=lambda r: r.run_id)
        gone = [r for r in runs if not r.folder_exists]
        old = present[: max(len(present) - keep, 0)]
        doomed = [r for r in (*gone, *old) if r.run_id not in protected]
        if dry_run:
            return [r.run_id for r in doomed]
        for run in doomed:
            self._remove(run)
        return [r.run_id for r in doomed]

    def _remove(self, run: StoredRun) -> None:
        trash = run.folder.with_name(_PRUNING + run.folder.name)
        moved = run.folder_exists
        try:
            with self._guard(), _transaction(self._db) as db:
                db.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
                if moved:
                    run.folder.rename(trash)
        except BaseException:
            if moved and trash.exists() and not run.folder.exists():
                trash.rename(run.folder)
            raise
        if moved:
            shutil.rmtree(trash, ignore_errors=True)
            RunFolder(run.folder).remove_credentials()

    def recover(self) -> None:
        """Finish or undo a prune that was interrupted (see the module's docstring)."""
        if not self.runs_dir.is_dir():
            return
        for trash in self.runs_dir.glob(_PRUNING + "*"):
            run_id = trash.name.removeprefix(_PRUNING)
            row = self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            original = trash.with_name(run_id)
            if row is not None and not original.exists():
                trash.rename(original)
            else:
                shutil.rmtree(trash, ignore_errors=True)

    def keep_calibration(
        self, images: str, run_id: str, component: str, record: dict[str, Any]
    ) -> None:
        """Keep ``record`` (a calibration, as the run file holds it) for the images ``images``."""
        with self._guard(), _transaction(self._db) as db:
            db.execute(
                "INSERT INTO calibrations (images, run_id, component, rate_rps, record, at_ms)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (images) DO UPDATE SET"
                " run_id = excluded.run_id, component = excluded.component,"
                " rate_rps = excluded.rate_rps, record = excluded.record, at_ms = excluded.at_ms",
                (
                    images,
                    run_id,
                    component,
                    float(record["rate_rps"]),
                    json.dumps(record, sort_keys=True),
                    int(record.get("at_ms", now_ms())),
                ),
            )

    def calibration(self, images: str) -> StoredCalibration | None:
        """The calibration kept for ``images`` (None: those images were never calibrated)."""
        row = self._db.execute(
            "SELECT images, run_id, component, rate_rps, record, at_ms FROM calibrations"
            " WHERE images = ?",
            (images,),
        ).fetchone()
        if row is None:
            return None
        return StoredCalibration(
            images=row[0],
            run_id=row[1],
            component=row[2],
            rate_rps=row[3],
            record=json.loads(row[4]),
            at_ms=row[5],
        )

    # -- reading -----------------------------------------------------------------------------

    def runs(self) -> list[StoredRun]:
        """Every indexed run, oldest first."""
        baselines: dict[str, list[str]] = {}
        for name, run_id in self._db.execute("SELECT name, run_id FROM baselines ORDER BY name"):
            baselines.setdefault(run_id, []).append(name)
        rows = self._db.execute(
            "SELECT r.run_id, r.created_ms, r.profile, r.stack, r.state, r.outcome, r.plan,"
            " r.exit_code, r.git_commit, r.folder, r.score,"
            " (SELECT count(*) FROM verdicts v WHERE v.run_id = r.run_id)"
            " FROM runs r ORDER BY r.run_id"
        ).fetchall()
        return [
            StoredRun(
                run_id=row[0],
                created_ms=row[1],
                profile=row[2],
                stack=row[3],
                state=row[4],
                outcome=row[5],
                plan=row[6],
                exit_code=row[7],
                git_commit=row[8],
                folder=Path(row[9]),
                score=row[10],
                verdict_count=row[11],
                baselines=tuple(baselines.get(row[0], ())),
            )
            for row in rows
        ]

    def get(self, run_id: str) -> StoredRun:
        """The run with ``run_id`` or a unique prefix of it; :class:`RunNotFoundError` otherwise."""
        matches = [r for r in self.runs() if r.run_id.startswith(run_id)]
        if len(matches) != 1:
            found = "no run" if not matches else f"{len(matches)} runs"
            raise RunNotFoundError(f"{found} in the run store {self.path} match {run_id!r}")
        return matches[0]

    def verdicts(self, run_id: str) -> list[VerdictRow]:
        """The verdicts of run ``run_id`` in the order they were recorded."""
        rows = self._db.execute(
            "SELECT name, outcome, reason, experiment, slo, budget_spent, observed FROM verdicts"
            " WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        return [
            VerdictRow(
                name=r[0],
                outcome=r[1],
                reason=r[2],
                experiment=r[3],
                slo=r[4],
                budget_spent=r[5],
                observed=r[6],
            )
            for r in rows
        ]

    def experiments(self, run_id: str) -> list[ExperimentRow]:
        """The judge's results of run ``run_id``."""
        rows = self._db.execute(
            "SELECT experiment, title, met, detect_s, recover_s, result FROM experiments"
            " WHERE run_id = ? ORDER BY experiment",
            (run_id,),
        )
        return [
            ExperimentRow(
                experiment=r[0],
                title=r[1],
                met=bool(r[2]),
                detect_s=r[3],
                recover_s=r[4],
                result=r[5],
            )
            for r in rows
        ]

    def trend(
        self, plan: str | None = None, limit: int = 20, *, until: str | None = None
    ) -> list[TrendPoint]:
        """The ``limit`` newest runs (of ``plan``, when given; none newer than run ``until``,
        when given), oldest first, for trend plots."""
        chosen = [
            r
            for r in self.runs()
            if (plan is None or r.plan == plan) and (until is None or r.run_id <= until)
        ][-limit:]
        points = []
        for run in chosen:
            recover = {e.experiment: e.recover_s for e in self.experiments(run.run_id)}
            verdicts = [v for v in self.verdicts(run.run_id) if v.budget_spent is not None]
            budget = {v.name: v.budget_spent for v in verdicts if v.budget_spent is not None}
            worst: dict[str | None, float] = {}
            for v in verdicts:
                if v.budget_spent is not None:
                    worst[v.experiment] = max(worst.get(v.experiment, 0.0), v.budget_spent)
            points.append(
                TrendPoint(
                    run_id=run.run_id,
                    created_ms=run.created_ms,
                    score=run.score,
                    recover_s=recover,
                    budget_spent=budget,
                    worst_budget=worst,
                )
            )
        return points

    def baselines(self) -> list[Baseline]:
        """Every named baseline."""
        rows = self._db.execute("SELECT name, run_id, set_ms FROM baselines ORDER BY name")
        return [Baseline(name=r[0], run_id=r[1], set_ms=r[2]) for r in rows]

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, exc) from None


def open_store(runs_dir: Path, path: Path | None = None) -> RunStore:
    """Open (creating or migrating) the run store of the run folders under ``runs_dir``.

    Raises :class:`ConfigError` naming the file when it is not a SQLite database, or was written
    by a newer stormcheck.
    """
    path = path or store_path(runs_dir)
    connection = _connect(path)
    try:
        migrate(connection, path)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _unreadable(path, exc) from None
    except BaseException:
        connection.close()
        raise
    store = RunStore(connection, path, runs_dir)
    store.recover()
    return store
