"""Plan files: what ``stormcheck run PLAN`` does, as data (``experiments/plans/<name>.yaml``).

A plan names its stack, a time budget for the whole plan, and its steps in order, each with its
own budget::

    plan: quick                  # must equal the file stem
    description: one line shown by `stormcheck run --help` and the summary
    stack: full                  # minimal | full
    budget: 12m                  # the whole plan
    steps:
      - {step: up, budget: 3m}
      - {step: smoke, budget: 1m}
      - {step: gate, budget: 3m, load: {scenario: shop-open, share: 0.4}, window: 60s}
      - {step: catalogue, budget: 8m, experiments: smoke, load: {scenario: shop-open, share: 0.4}}
      - {step: canary, budget: 3m, experiment: canary_planted_breach}
      - {step: report, budget: 2m}
      - {step: down, budget: 1m}

Steps: ``up`` (first when present), ``smoke`` (readiness and smoke checks), ``gate`` (an SLO gate
over ``window`` under ``load``), ``catalogue`` (``experiments``: a named list of the expected
outcomes file, ``smoke`` or ``all``, or a list of experiment file stems, under ``load``),
``canary`` (one ``experiment`` whose planted breach the stop conditions must abort; ``load``
optional), ``report``, ``down`` (last when present). Each kind appears at most once, except
``catalogue``. A step's budget is at most the plan's. ``load.share`` is the fraction of the
calibrated capacity (0 < share ≤ 1). Durations are written as in SLO files (``90s``, ``5m``).

:func:`read_plan` checks the file itself and raises :class:`~stormcheck.inputs.InputError` with
one located line per problem; :func:`reference_problems` checks what the plan names against the
project (load scenarios, experiment files), which the caller knows.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from yaml.nodes import MappingNode, Node, ScalarNode

from stormcheck.inputs import (
    Invalid,
    NodeReader,
    Problem,
    describe_node,
    raise_problems,
    read_yaml_mapping,
)

__all__ = [
    "EXPERIMENT_LISTS",
    "PLANS_FOLDER",
    "PLAN_STACKS",
    "STEP_KINDS",
    "Load",
    "Plan",
    "Step",
    "StepKind",
    "plan_files",
    "read_plan",
    "reference_problems",
]

StepKind = Literal["up", "smoke", "gate", "catalogue", "canary", "report", "down"]
STEP_KINDS: tuple[str, ...] = get_args(StepKind)
# The stacks a plan may ask for (stormcheck.settings.STACKS; a unit test keeps them equal).
PLAN_STACKS: tuple[str, ...] = ("minimal", "full")
# The named experiment lists of the expected outcomes file (experiments/local/expected.yaml).
EXPERIMENT_LISTS: tuple[str, ...] = ("smoke", "all")
PLANS_FOLDER = Path("experiments") / "plans"  # relative to the project root

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")
_STEM = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")
_WHAT = "a plan file"
_TOP = frozenset({"plan", "description", "stack", "budget", "steps"})
_LOAD = frozenset({"scenario", "share"})
_STEP_FIELDS: dict[str, frozenset[str]] = {
    "up": frozenset({"step", "budget"}),
    "smoke": frozenset({"step", "budget"}),
    "gate": frozenset({"step", "budget", "load", "window"}),
    "catalogue": frozenset({"step", "budget", "experiments", "load"}),
    "canary": frozenset({"step", "budget", "experiment", "load"}),
    "report": frozenset({"step", "budget"}),
    "down": frozenset({"step", "budget"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "gate": ("load", "window"),
    "catalogue": ("experiments", "load"),
    "canary": ("experiment",),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    """The load a step runs under: a scenario at a share of the calibrated capacity."""

    scenario: str
    share: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of a plan, with its time budget and what it needs; ``line`` locates it."""

    kind: StepKind
    budget_s: int
    line: int
    load: Load | None = None
    window_s: int | None = None  # gate: the judged window
    experiment_list: str | None = None  # catalogue: a named list (smoke, all) ...
    experiments: tuple[str, ...] = ()  # ... or experiment file stems; canary: its one stem


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A plan file, checked."""

    name: str
    description: str
    stack: str
    budget_s: int
    steps: tuple[Step, ...]
    path: Path

    def step(self, kind: StepKind) -> Step | None:
        """The first step of ``kind`` (None when the plan has none)."""
        return next((s for s in self.steps if s.kind == kind), None)


def plan_files(folder: Path) -> list[Path]:
    """The plan files (``*.yaml``) in ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix == ".yaml")


def read_plan(path: Path) -> Plan:
    """The plan in ``path``; :class:`~stormcheck.inputs.InputError`, one located line a problem."""
    node, loader = read_yaml_mapping(path, what=_WHAT)
    reader = _PlanReader(path)
    reader.loader = loader
    plan: Plan | None = None
    with contextlib.suppress(Invalid):
        plan = reader.plan(node)
    raise_problems(reader.problems, what=str(path))
    assert plan is not None
    return plan


def reference_problems(
    plan: Plan, *, scenarios: Collection[str], experiments_folder: Path
) -> list[Problem]:
    """What ``plan`` names but the project lacks: unknown load scenarios, missing experiment files."""
    problems: list[Problem] = []
    for index, step in enumerate(plan.steps):
        where = f"steps[{index}]"
        if step.load is not None and step.load.scenario not in scenarios:
            problems.append(
                Problem(
                    file=plan.path,
                    line=step.line,
                    field=f"{where}.load.scenario",
                    message=f"unknown scenario {step.load.scenario!r}; expected one of "
                    + ", ".join(sorted(scenarios)),
                )
            )
        # the canary is not part of the judged catalogue: it lives beside it, in canary/
        folder = (
            experiments_folder.parent / "canary" if step.kind == "canary" else experiments_folder
        )
        for stem in step.experiments:
            if not any((folder / f"{stem}{s}").is_file() for s in (".yaml", ".json")):
                field = "experiment" if step.kind == "canary" else "experiments"
                problems.append(
                    Problem(
                        file=plan.path,
                        line=step.line,
                        field=f"{where}.{field}",
                        message=f"no experiment file {stem}.yaml in {folder}",
                    )
                )
    return problems


class _PlanReader(NodeReader):
    def plan(self, root: Node) -> Plan:
        top = self.mapping(root, "", _TOP)
        name_node = self.required(top, "plan", root, "")
        name = self.string(name_node, "plan")
        if not _NAME.match(name):
            self.problem(
                name_node, "plan", f"{name!r} is not a plan name (lower-case letters, digits, '-')"
            )
        elif name != self.path.stem:
            self.problem(
                name_node, "plan", f"{name!r} must equal the file's stem {self.path.stem!r}"
            )
        description_node = self.required(top, "description", root, "")
        description = self.string(description_node, "description")
        if "\n" in description:
            self.problem(description_node, "description", "expected one line")
        stack_node = self.required(top, "stack", root, "")
        stack = self.string(stack_node, "stack")
        if stack not in PLAN_STACKS:
            self.problem(
                stack_node, "stack", f"expected one of {', '.join(PLAN_STACKS)}, got {stack!r}"
            )
        budget_s = self.duration(self.required(top, "budget", root, ""), "budget")
        steps_node = self.required(top, "steps", root, "")
        items = self.sequence(steps_node, "steps")
        if not items:
            raise self.fail(steps_node, "steps", "expected at least one step")
        steps: list[tuple[int, Step]] = []
        for index, item in enumerate(items):
            try:
                steps.append((index, self._step(item, f"steps[{index}]", budget_s)))
            except Invalid:
                continue
        self._order(steps, len(items))
        return Plan(
            name=name,
            description=description,
            stack=stack,
            budget_s=budget_s,
            steps=tuple(step for _, step in steps),
            path=self.path,
        )

    def _step(self, node: Node, field: str, plan_budget_s: int) -> Step:
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, f"expected a step (a mapping), got {describe_node(node)}")
        keys = {k.value: v for k, v in node.value if isinstance(k, ScalarNode)}
        if "step" not in keys:
            raise self.fail(
                node, f"{field}.step", f"required field is missing; one of {', '.join(STEP_KINDS)}"
            )
        kind_node = keys["step"]
        kind = self.string(kind_node, f"{field}.step")
        if kind not in STEP_KINDS:
            raise self.fail(
                kind_node, f"{field}.step", f"expected one of {', '.join(STEP_KINDS)}, got {kind!r}"
            )
        items = self.mapping(node, field, _STEP_FIELDS[kind])
        for key in _REQUIRED.get(kind, ()):
            if key not in items:
                self.problem(node, f"{field}.{key}", f"required for a {kind} step")
        budget_node = self.required(items, "budget", node, field)
        budget_s = self.duration(budget_node, f"{field}.budget")
        if budget_s > plan_budget_s:
            self.problem(
                budget_node,
                f"{field}.budget",
                f"{budget_s} s is more than the whole plan's budget ({plan_budget_s} s)",
            )
        load = self._load(items["load"][1], f"{field}.load") if "load" in items else None
        window_s = (
            self.duration(items["window"][1], f"{field}.window") if "window" in items else None
        )
        experiment_list: str | None = None
        experiments: tuple[str, ...] = ()
        if "experiments" in items:
            experiment_list, experiments = self._experiments(
                items["experiments"][1], f"{field}.experiments"
            )
        if "experiment" in items:
            experiments = (self._stem(items["experiment"][1], f"{field}.experiment"),)
        return Step(
            kind=kind,  # type: ignore[arg-type]  # checked against STEP_KINDS above
            budget_s=budget_s,
            line=node.start_mark.line + 1,
            load=load,
            window_s=window_s,
            experiment_list=experiment_list,
            experiments=experiments,
        )

    def _load(self, node: Node, field: str) -> Load:
        items = self.mapping(node, field, _LOAD)
        scenario = self.string(self.required(items, "scenario", node, field), f"{field}.scenario")
        share_node = self.required(items, "share", node, field)
        share = self.number(share_node, f"{field}.share")
        if not 0 < share <= 1:
            self.problem(
                share_node,
                f"{field}.share",
                f"{share:g} is not in (0, 1]: the share is a fraction of the calibrated capacity",
            )
        return Load(scenario=scenario, share=share)

    def _experiments(self, node: Node, field: str) -> tuple[str | None, tuple[str, ...]]:
        if isinstance(node, ScalarNode):
            name = self.string(node, field)
            if name not in EXPERIMENT_LISTS:
                raise self.fail(
                    node,
                    field,
                    f"expected a named list ({', '.join(EXPERIMENT_LISTS)}) or a list of "
                    f"experiment file stems, got {name!r}",
                )
            return name, ()
        items = self.sequence(node, field)
        if not items:
            raise self.fail(node, field, "expected at least one experiment")
        stems = [self._stem(item, f"{field}[{i}]") for i, item in enumerate(items)]
        for index, stem in enumerate(stems):
            if stem in stems[:index]:
                self.problem(items[index], f"{field}[{index}]", f"{stem!r} is listed twice")
        return None, tuple(stems)

    def _stem(self, node: Node, field: str) -> str:
        stem = self.string(node, field)
        if not _STEM.match(stem):
            raise self.fail(node, field, f"expected an experiment file stem, got {stem!r}")
        return stem

    def _order(self, steps: list[tuple[int, Step]], count: int) -> None:
        first: dict[str, int] = {}
        for index, step in steps:
            field = f"steps[{index}].step"
            if step.kind != "catalogue" and step.kind in first:
                self.problems.append(
                    Problem(
                        file=self.path,
                        line=step.line,
                        field=field,
                        message=f"a second {step.kind} step (the first is at line "
                        f"{first[step.kind]}); only catalogue may repeat",
                    )
                )
            first.setdefault(step.kind, step.line)
            misplaced = (step.kind == "up" and index != 0) or (
                step.kind == "down" and index != count - 1
            )
            if misplaced:
                where = "first" if step.kind == "up" else "last"
                self.problems.append(
                    Problem(
                        file=self.path,
                        line=step.line,
                        field=field,
                        message=f"{step.kind} must come {where}",
                    )
                )
