"""The whole fault catalogue, each experiment once against the full stack under light load, with
its full (compressed) durations: it runs to its end and leaves the platform as it found it."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from stormcheck.chaos.experiment import background_load, run_experiment_file
from stormcheck.chaos.experiment_file import experiment_files
from stormcheck.chaos.journal import ExperimentOutcome
from stormcheck.local.session import runs_dir
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.testing import PlatformRun

pytestmark = pytest.mark.catalogue

log = logging.getLogger(__name__)
FILES = experiment_files(project_root() / "experiments" / "local")
LOAD_RATE = 5.0  # arrivals per second through the ingress: enough for the SLO probes to measure


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_experiment_runs_to_its_end_and_leaves_nothing_changed(
    path: Path,
    full_platform: PlatformRun,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs_dir(settings)))
    started = time.monotonic()
    with background_load(
        full_platform.folder, "shop-open", rate=LOAD_RATE, users=1, progress=log.info
    ):
        time.sleep(10.0)  # the load reaches its rate before the steady state is probed
        result = run_experiment_file(path, full_platform.folder, settings, progress=log.info)
    log.info("%s: %s in %.0f s", path.stem, result.reading.outcome, time.monotonic() - started)
    # held or deviated: the fault was injected and measured (the judge decides which is right);
    # never not ready, a probe that could not measure, or an action or rollback that failed
    assert result.reading.outcome in (ExperimentOutcome.HELD, ExperimentOutcome.DEVIATED), (
        result.explain()
    )
    assert result.diff == (), result.explain()
