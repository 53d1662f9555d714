"""The whole fault catalogue, each experiment once against the full stack under steady open-model
load (40 % of the calibrated capacity), with its full (compressed) durations: it runs to its end,
leaves the platform as it found it, and is judged against its row of
``experiments/local/expected.yaml`` — every verdict within the allowed set, integrity held. The
session's resilience score goes to ``resilience/score.json`` in the run folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stormcheck.chaos.experiment_file import experiment_files
from stormcheck.judge import read_expectations
from stormcheck.paths import project_root
from suites.resilience.judged import assert_judged

pytestmark = pytest.mark.catalogue

FILES = experiment_files(project_root() / "experiments" / "local")
EXPECTED = read_expectations()


@pytest.mark.parametrize("stem", [p.stem for p in FILES])
def test_every_experiment_runs_to_its_end_leaves_nothing_changed_and_meets_its_row(
    stem: str, steady_load: float, judge_row: Callable[..., Any]
) -> None:
    assert_judged(judge_row(EXPECTED.row(stem)), steady_load)
