"""The smoke catalogue (``lists.smoke`` of ``experiments/local/expected.yaml``) on the shared full
stack, under steady open-model load at 40 % of its calibrated capacity: each experiment judged,
every verdict within its row's allowed set and integrity held.

Shorter than the nightly run: each row's ``smoke`` overrides (fault durations only where the row's
limits still fit; the static test checks the recovery watch covers them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stormcheck.judge import Row, read_expectations

from .judged import assert_judged

pytestmark = pytest.mark.e2e

SMOKE = read_expectations().named("smoke")


@pytest.mark.parametrize("row", SMOKE, ids=lambda r: r.experiment)
def test_smoke_experiment_meets_its_expected_outcome(
    row: Row, steady_load: float, judge_row: Callable[..., Any]
) -> None:
    assert_judged(judge_row(row, smoke=True), steady_load)
