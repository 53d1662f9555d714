"""The guards on the session's full stack: a target outside the allow-list is refused with
nothing changed; the planted breach is aborted by its stop conditions in time and rolled back."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from stormcheck.chaos.experiment import (
    EXIT_DEVIATED,
    EXIT_REFUSED,
    background_load,
    run_experiment_file,
)
from stormcheck.chaos.experiment_file import read_experiment
from stormcheck.chaos.ledger import Ledger
from stormcheck.chaos.safeguards import parse_conditions
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.local.session import runs_dir
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.testing import PlatformRun
from stormcheck.timeline import EventKind, now_ms
from suites.safety.stack import before, settled_diff, wait_for_event

pytestmark = pytest.mark.integration

CANARY = project_root() / "experiments" / "canary" / "canary_planted_breach.yaml"
REPLICA_KILLED = project_root() / "experiments" / "local" / "replica_killed.yaml"


@pytest.fixture
def chaos_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Activities in this process find the session's run folders (as a `chaos` process would)."""
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs_dir(settings)))


def _ledger_lines(full_platform: PlatformRun) -> int:
    path = Ledger(full_platform.folder).path
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_run_outside_the_allow_list_is_refused_with_nothing_changed(
    full_platform: PlatformRun, settings: Settings, chaos_env: None
) -> None:
    folder = full_platform.folder
    earlier = before(folder, settings)
    ledger = _ledger_lines(full_platform)
    elsewhere = dataclasses.replace(settings, allowed_targets=("local:somebody-else-*",))
    result = run_experiment_file(REPLICA_KILLED, folder, elsewhere, seed=1, settle_s=0.0)
    assert result.exit_code == EXIT_REFUSED, result.explain()
    assert result.refused == (
        f"target local:{folder.run_id} is not in allowed_targets (local:somebody-else-*)"
    )
    assert result.diff == ()
    assert _ledger_lines(full_platform) == ledger  # not one fault recorded
    assert settled_diff(folder, settings, earlier, settle_s=0.0) == []


def _first_above(
    prometheus: PrometheusClient, query: str, threshold: float, start: float, end: float
) -> float | None:
    matrix = prometheus.query_range(query, start, end, 1.0)
    points = sorted(p for series in matrix.series for p in series.points)
    return next((t for t, v in points if not math.isnan(v) and v > threshold), None)


def test_the_planted_breach_is_aborted_in_time_and_rolled_back(
    full_platform: PlatformRun, settings: Settings, chaos_env: None
) -> None:
    folder = full_platform.folder
    earlier = before(folder, settings)
    since = now_ms()
    with background_load(folder, "shop-open", rate=10.0, users=5, progress=print):
        time.sleep(10.0)  # the load reaches its rate, the burn-rate window has requests
        started = time.monotonic()
        result = run_experiment_file(CANARY, folder, settings, seed=1, settle_s=60.0)
        seconds = time.monotonic() - started
    assert result.stopped is not None, result.explain()
    assert result.exit_code == EXIT_DEVIATED, result.explain()
    assert seconds < 120, f"the 120 s hold was not cut short ({seconds:.0f} s)"
    fault = wait_for_event(folder, EventKind.FAULT_START, since, timeout_s=0)
    rolled = wait_for_event(
        folder, EventKind.ACTIVITY_START, since, name="start-the-killed-replicas", timeout_s=0
    )
    # the first sample above a threshold, as Prometheus has it, independently of the monitor
    control = read_experiment(CANARY).document["controls"][1]["provider"]["arguments"]
    interval = float(control["interval_s"])
    firsts = []
    with PrometheusClient(full_platform.manifest.endpoint("prometheus")) as prometheus:
        for condition in parse_conditions(control["conditions"]):
            first = _first_above(
                prometheus,
                condition.query(),
                condition.threshold,
                fault.at_ms / 1000 - 1,
                rolled.at_ms / 1000 + 1,
            )
            if first is not None:
                firsts.append(first)
    assert firsts, "no condition was above its threshold before the rollback, yet it aborted"
    delay = rolled.at_ms / 1000 - min(firsts)
    print(f"aborted {delay:.1f} s after the first sample above a threshold; {result.stopped}")
    assert delay <= 2 * interval + 10, f"aborted {delay:.1f} s after the first sample above"
    assert [r["status"] for r in _journal(result.journal_path)["rollbacks"]] == ["succeeded"]
    assert settled_diff(folder, settings, earlier) == []


def _journal(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def test_a_dry_run_against_the_stack_changes_nothing(
    full_platform: PlatformRun, settings: Settings, chaos_env: None
) -> None:
    from stormcheck.chaos.local.actions import choose
    from stormcheck.chaos.policy import dry_run

    folder = full_platform.folder
    earlier = before(folder, settings)
    ledger = _ledger_lines(full_platform)
    planned = dry_run(REPLICA_KILLED, folder, settings, 11)
    replicas = sorted(n for n, r in full_platform.manifest.components.items() if r.role == "shop")
    (fault,) = planned.faults
    assert fault.targets == tuple(choose(replicas, 0.34, 11))
    assert planned.allowed
    assert f"target: local:{folder.run_id}" in planned.describe()
    assert _ledger_lines(full_platform) == ledger
    assert settled_diff(folder, settings, earlier, settle_s=0.0) == []
