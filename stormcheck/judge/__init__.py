"""The resilience judge: each experiment run judged against its expected outcome, as data.

* :mod:`~stormcheck.judge.expectations` — ``experiments/local/expected.yaml`` read into typed rows
  (:func:`read_expectations`), with located errors;
* :mod:`~stormcheck.judge.timing` — fault and recovery windows, time to detect and its floor,
  time to recover, the request log's own availability verdict;
* :mod:`~stormcheck.judge.result` — :func:`judge_experiment` → :class:`ResilienceResult`
  (``resilience/<experiment>.json``, verdicts merged into ``verdicts.json``);
* :mod:`~stormcheck.judge.writers` — :func:`judge_single_writer`: never two writable PostgreSQL
  members, from the background sampler's rounds in the journal;
* :mod:`~stormcheck.judge.live` — :func:`judge_on_run`: the same with the run's own backends;
* :mod:`~stormcheck.judge.score` — :func:`resilience_score` over a catalogue, 0-100.
"""

from __future__ import annotations

from stormcheck.judge.expectations import (
    CLIENT_SLO,
    Expectations,
    FaultKind,
    Limits,
    RecoveryRule,
    Row,
    SloExpectation,
    read_expectations,
)
from stormcheck.judge.live import judge_on_run, orders_of_run
from stormcheck.judge.result import Check, ResilienceResult, judge_experiment, write_result
from stormcheck.judge.score import Remediation, Score, resilience_score
from stormcheck.judge.timing import DetectionFloor, read_detection_floor, time_to_recover
from stormcheck.judge.writers import judge_single_writer

__all__ = [
    "CLIENT_SLO",
    "Check",
    "DetectionFloor",
    "Expectations",
    "FaultKind",
    "Limits",
    "RecoveryRule",
    "Remediation",
    "ResilienceResult",
    "Row",
    "Score",
    "SloExpectation",
    "judge_experiment",
    "judge_on_run",
    "judge_single_writer",
    "orders_of_run",
    "read_detection_floor",
    "read_expectations",
    "resilience_score",
    "time_to_recover",
    "write_result",
]
