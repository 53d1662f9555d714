"""The run store's schema, as the list of migrations that build it.

The database's ``PRAGMA user_version`` is the number of migrations applied. Opening a store
applies the missing ones in order, each in its own transaction, so a store written by an older
stormcheck is brought up to date and keeps its rows; a store written by a newer one is refused.
A migration is never edited once released: a change is a new migration at the end.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the index of runs and of the verdicts in their verdicts.json.
    (
        """CREATE TABLE runs (
            run_id     TEXT PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            profile    TEXT NOT NULL,
            stack      TEXT NOT NULL,
            state      TEXT NOT NULL,
            outcome    TEXT,
            folder     TEXT NOT NULL
        )""",
        """CREATE TABLE verdicts (
            run_id       TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
            position     INTEGER NOT NULL,
            name         TEXT NOT NULL,
            outcome      TEXT NOT NULL,
            reason       TEXT NOT NULL,
            budget_spent REAL,
            PRIMARY KEY (run_id, position)
        )""",
    ),
    # 2: verdicts per SLO and experiment, the judge's results, named baselines, what ran.
    (
        "ALTER TABLE runs ADD COLUMN plan TEXT",
        "ALTER TABLE runs ADD COLUMN exit_code INTEGER",
        "ALTER TABLE runs ADD COLUMN git_commit TEXT",
        "ALTER TABLE verdicts ADD COLUMN experiment TEXT",
        "ALTER TABLE verdicts ADD COLUMN slo TEXT",
        "ALTER TABLE verdicts ADD COLUMN observed REAL",
        """CREATE TABLE experiments (
            run_id     TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
            experiment TEXT NOT NULL,
            title      TEXT NOT NULL,
            met        INTEGER NOT NULL,
            detect_s   REAL,
            recover_s  REAL,
            result     TEXT NOT NULL,
            PRIMARY KEY (run_id, experiment)
        )""",
        """CREATE TABLE baselines (
            name   TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            set_ms INTEGER NOT NULL
        )""",
        "CREATE INDEX verdicts_by_name ON verdicts(name)",
    ),
    # 3: calibrations, reused by later runs of the same images; the resilience score of a run.
    (
        "ALTER TABLE runs ADD COLUMN score REAL",
        """CREATE TABLE calibrations (
            images     TEXT PRIMARY KEY,
            run_id     TEXT NOT NULL,
            component  TEXT NOT NULL,
            rate_rps   REAL NOT NULL,
            record     TEXT NOT NULL,
            at_ms      INTEGER NOT NULL
        )""",
    ),
)
"""Migration ``i`` (1-based) takes a store from schema ``i - 1`` to schema ``i``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema this stormcheck writes."""
