"""The run store: an embedded SQLite index of every run, its verdicts and named baselines.

See :mod:`stormcheck.runstore.store` for the store and :mod:`stormcheck.runstore.schema` for its
versioned schema.
"""

from __future__ import annotations

from stormcheck.runstore.records import ExperimentRow, RunRecord, VerdictRow, read_run
from stormcheck.runstore.schema import SCHEMA_VERSION
from stormcheck.runstore.store import (
    Baseline,
    RunStore,
    StoredCalibration,
    StoredRun,
    TrendPoint,
    images_key,
    open_store,
    store_path,
)

__all__ = [
    "SCHEMA_VERSION",
    "Baseline",
    "ExperimentRow",
    "RunRecord",
    "RunStore",
    "StoredCalibration",
    "StoredRun",
    "TrendPoint",
    "VerdictRow",
    "images_key",
    "open_store",
    "read_run",
    "store_path",
]
