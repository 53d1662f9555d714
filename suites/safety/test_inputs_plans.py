"""Plan files: the shipped plans read and name what exists; each rule of the format is enforced.

The malformed plan files of the corpus (``data/corpus/plan/``) are checked with the other kinds
in ``test_inputs_corpus.py``; here the shipped plans and the reading of a good plan.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stormcheck.inputs import InputError
from stormcheck.load.scenarios import SCENARIOS
from stormcheck.paths import project_root
from stormcheck.plans import (
    PLAN_STACKS,
    PLANS_FOLDER,
    Load,
    plan_files,
    read_plan,
    reference_problems,
)
from stormcheck.settings import STACKS

pytestmark = pytest.mark.unit

ROOT = project_root()
PLANS = plan_files(ROOT / PLANS_FOLDER)
EXPERIMENTS = ROOT / "experiments" / "local"


def test_the_plans_of_the_main_job_are_shipped() -> None:
    assert {p.stem for p in PLANS} >= {"quick", "nightly", "release-gate"}, PLANS


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_a_shipped_plan_reads_and_names_known_scenarios(path: Path) -> None:
    plan = read_plan(path)
    assert plan.name == path.stem
    assert plan.stack in PLAN_STACKS
    assert plan.steps[0].kind == "up" and plan.steps[-1].kind == "down", plan.steps
    assert all(0 < s.budget_s <= plan.budget_s for s in plan.steps)
    problems = reference_problems(plan, scenarios=SCENARIOS, experiments_folder=EXPERIMENTS)
    # The canary's experiment file comes with the stop conditions; every other name must exist.
    assert [p for p in problems if "canary" not in p.message] == [], problems


def test_quick_reads_as_the_format_describes() -> None:
    plan = read_plan(ROOT / PLANS_FOLDER / "quick.yaml")
    assert (plan.stack, plan.budget_s) == ("full", 720)
    assert [s.kind for s in plan.steps] == [
        "up",
        "smoke",
        "gate",
        "catalogue",
        "canary",
        "report",
        "down",
    ]
    gate, catalogue, canary = plan.step("gate"), plan.step("catalogue"), plan.step("canary")
    assert gate is not None and catalogue is not None and canary is not None
    assert (gate.window_s, gate.load) == (60, Load(scenario="shop-open", share=0.4))
    assert (catalogue.experiment_list, catalogue.experiments) == ("smoke", ())
    assert canary.experiments == ("canary_planted_breach",)
    assert gate.line == 9  # the line of the step in the file


def test_plan_stacks_are_the_settings_stacks() -> None:
    assert PLAN_STACKS == STACKS


def test_a_list_of_stems_and_a_repeated_catalogue_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        "plan: two\ndescription: two catalogues\nstack: minimal\nbudget: 10m\nsteps:\n"
        "  - {step: catalogue, budget: 2m, experiments: [replica_killed], "
        "load: {scenario: shop, share: 1}}\n"
        "  - {step: catalogue, budget: 2m, experiments: [redis_down, prometheus_down], "
        "load: {scenario: shop, share: 0.1}}\n",
        encoding="utf-8",
    )
    plan = read_plan(path)
    assert [s.experiments for s in plan.steps] == [
        ("replica_killed",),
        ("redis_down", "prometheus_down"),
    ]
    assert reference_problems(plan, scenarios=SCENARIOS, experiments_folder=EXPERIMENTS) == []


def test_every_problem_of_a_plan_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "plan: other\ndescription: x\nstack: huge\nbudget: 5m\nsteps:\n"
        "  - {step: smoke, budget: 10m}\n  - {step: up, budget: 1m}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_plan(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:1: plan: 'other' must equal the file's stem 'many'",
        f"{path}:3: stack: expected one of minimal, full, got 'huge'",
        f"{path}:6: steps[0].budget: 600 s is more than the whole plan's budget (300 s)",
        f"{path}:7: steps[1].step: up must come first",
    ]
