"""Experiment files: read, and checked against the rules every stormcheck experiment keeps.

Beyond Chaos Toolkit's own validation (:func:`chaoslib.experiment.ensure_experiment_is_valid`,
which ``chaos validate`` runs), an experiment of the catalogue:

- is titled as the question it answers (the title ends with ``?``), and has a description and tags;
- says what it contributes to (``contributions``: availability, latency, integrity, observability);
- carries ``runtime: {rollbacks: {strategy: always}}`` and the stormcheck control;
- has a rollback whenever its method injects a fault that stays until rolled back;
- names only activities that exist (a public function of the module), with arguments the
  function takes, every required one given, and every ``${key}`` declared in its configuration;
- uses no two-item list of words as a tolerance (Chaos Toolkit reads ``[a, b]`` as the range
  ``a <= value <= b``; a set of allowed words is a ``regex`` tolerance).

Every problem is one located line: ``file:line: field: message`` (:mod:`stormcheck.inputs`); a
missing field is reported at the first line of the mapping that lacks it. Files are read the
bounded way every input file is (size cap, UTF-8 only, no YAML aliases).
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stormcheck.errors import ConfigError
from stormcheck.inputs import Problem, read_yaml_mapping

__all__ = [
    "CONTRIBUTIONS",
    "CONTROL_MODULE",
    "FAULT_MODULES",
    "ExperimentFile",
    "check_experiment",
    "experiment_files",
    "read_experiment",
]

CONTROL_MODULE = "stormcheck.chaos.control"
# modules whose actions leave a fault on until its rollback (a traffic burst ends by itself)
FAULT_MODULES = ("stormcheck.chaos.local.actions",)
CONTRIBUTIONS = ("availability", "latency", "integrity", "observability")
_LEVELS = ("high", "medium", "low", "none")
_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_INJECTED = ("configuration", "secrets")


@dataclass(frozen=True, slots=True)
class ExperimentFile:
    """One experiment file, parsed."""

    path: Path
    document: Mapping[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line(self, where: str) -> int | None:
        """The line of the field ``where`` (``method[0].provider.module``), or of its nearest
        ancestor the file has (its first line for a missing top-level field)."""
        while where:
            if where in self.lines:
                return self.lines[where]
            where = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", where) if re.search(r"[.\[]", where) else ""
        return self.lines.get("")

    @property
    def title(self) -> str:
        """The experiment's title (its question)."""
        return str(self.document.get("title", ""))

    @property
    def tags(self) -> tuple[str, ...]:
        """Its tags."""
        return tuple(str(t) for t in self.document.get("tags") or ())

    @property
    def contributions(self) -> Mapping[str, str]:
        """What it contributes to, and how much."""
        return dict(self.document.get("contributions") or {})


# data files that live beside the experiments: the expected outcomes (stormcheck.judge)
NOT_EXPERIMENTS = frozenset({"expected.yaml"})


def experiment_files(folder: Path) -> list[Path]:
    """The experiment files (``*.yaml``, ``*.yml``, ``*.json``) in ``folder``, sorted; the data
    files of :data:`NOT_EXPERIMENTS` are not experiments."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (".yaml", ".yml", ".json") and p.name not in NOT_EXPERIMENTS
    )


def read_experiment(path: Path) -> ExperimentFile:
    """Parse ``path`` (YAML or JSON); :class:`~stormcheck.inputs.InputError`, located, when it
    cannot be read or is not a mapping."""
    node, loader = read_yaml_mapping(path, what="an experiment")
    document = loader.construct_document(node)
    lines: dict[str, int] = {"": node.start_mark.line + 1}
    _index_lines(node, "", lines)
    return ExperimentFile(path, document, lines)


def _index_lines(node: Node, where: str, lines: dict[str, int]) -> None:
    """The line of every field under ``node``, by its path; ``${key}`` uses as ``${key}``."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                path = f"{where}.{key_node.value}" if where else str(key_node.value)
                lines.setdefault(path, key_node.start_mark.line + 1)
                _index_lines(value_node, path, lines)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{where}[{index}]"
            lines.setdefault(path, item.start_mark.line + 1)
            _index_lines(item, path, lines)
    elif isinstance(node, ScalarNode) and isinstance(node.value, str):
        for key in _REFERENCE.findall(node.value):
            lines.setdefault(f"${{{key}}}", node.start_mark.line + 1)


def _activities(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    hypothesis = document.get("steady-state-hypothesis") or {}
    for index, probe in enumerate(hypothesis.get("probes") or []):
        yield f"steady-state-hypothesis.probes[{index}]", probe
    for section in ("method", "rollbacks"):
        for index, activity in enumerate(document.get(section) or []):
            yield f"{section}[{index}]", activity


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _REFERENCE.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _references(item)


def _check_activity(where: str, activity: Any) -> Iterator[str]:
    if not isinstance(activity, Mapping):
        yield f"{where}: expected an activity (a mapping)"
        return
    provider = activity.get("provider") or {}
    if activity.get("type") not in ("probe", "action") or provider.get("type") != "python":
        return  # chaoslib checks the rest; the catalogue uses python providers only
    module_name, func_name = provider.get("module"), provider.get("func")
    try:
        module = importlib.import_module(str(module_name))
    except ImportError as exc:
        yield f"{where}.provider.module: cannot import {module_name!r}: {exc}"
        return
    if not isinstance(func_name, str) or func_name not in getattr(module, "__all__", ()):
        yield f"{where}.provider.func: {module_name} has no public activity {func_name!r}"
        return
    signature = inspect.signature(getattr(module, func_name))
    params = {n: p for n, p in signature.parameters.items() if n not in _INJECTED}
    given = provider.get("arguments") or {}
    if not isinstance(given, Mapping):
        yield f"{where}.provider.arguments: expected a mapping of argument names to values"
        return
    for name in given:
        if name not in params:
            yield (
                f"{where}.provider.arguments.{name}: {module_name}.{func_name} takes no such "
                f"argument (it takes: {', '.join(params) or 'none'})"
            )
    for name, param in params.items():
        if param.default is inspect.Parameter.empty and name not in given:
            yield f"{where}.provider.arguments: {func_name} needs {name!r}"
    tolerance = activity.get("tolerance")
    if (
        isinstance(tolerance, list)
        and len(tolerance) == 2
        and not all(isinstance(t, int | float) for t in tolerance)
    ):
        yield (
            f"{where}.tolerance: {tolerance!r} is read as a range by Chaos Toolkit; "
            "use {type: regex, pattern: '^(a|b)$'} for a set of allowed values"
        )


def check_experiment(path: Path) -> list[str]:
    """Every way the file at ``path`` breaks the catalogue's rules, one line each (empty: none)."""
    try:
        experiment = read_experiment(path)
    except ConfigError as exc:
        return [str(exc)]
    doc = experiment.document
    problems: list[str] = []
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip().endswith("?"):
        problems.append(f"title: expected the question the experiment answers, got {title!r}")
    if not isinstance(doc.get("description"), str) or not doc["description"].strip():
        problems.append("description: expected what the experiment does and watches")
    tags = doc.get("tags")
    if not isinstance(tags, list) or not tags:
        problems.append("tags: expected a list of tags")
    contributions = doc.get("contributions")
    if not isinstance(contributions, Mapping) or not contributions:
        problems.append(f"contributions: expected levels for {', '.join(CONTRIBUTIONS)}")
    else:
        for key, level in contributions.items():
            if key not in CONTRIBUTIONS:
                problems.append(f"contributions.{key}: expected one of {', '.join(CONTRIBUTIONS)}")
            elif level not in _LEVELS:
                problems.append(f"contributions.{key}: expected one of {', '.join(_LEVELS)}")
    strategy = ((doc.get("runtime") or {}).get("rollbacks") or {}).get("strategy")
    if strategy != "always":
        problems.append(f"runtime.rollbacks.strategy: expected always, got {strategy!r}")
    controls = doc.get("controls") or []
    if not any(
        isinstance(c, Mapping) and (c.get("provider") or {}).get("module") == CONTROL_MODULE
        for c in controls
    ):
        problems.append(f"controls: expected the stormcheck control ({CONTROL_MODULE})")
    hypothesis = doc.get("steady-state-hypothesis")
    if not isinstance(hypothesis, Mapping) or not hypothesis.get("probes"):
        problems.append("steady-state-hypothesis: expected probes")
    method = doc.get("method") or []
    if not doc.get("rollbacks") and any(
        isinstance(a, Mapping) and (a.get("provider") or {}).get("module") in FAULT_MODULES
        for a in method
    ):
        problems.append("rollbacks: expected a rollback of the faults the method injects")
    for where, activity in _activities(doc):
        problems += _check_activity(where, activity)
    declared = set((doc.get("configuration") or {}).keys())
    for key in sorted(set(_references({k: v for k, v in doc.items() if k != "configuration"}))):
        if key not in declared:
            problems.append(f"configuration: ${{{key}}} is used but not declared")
    located = []
    for problem in problems:
        where, _, message = problem.partition(": ")
        reference = _REFERENCE.search(message) if where == "configuration" else None
        line = experiment.lines.get(reference.group(0)) if reference else None
        located.append(
            str(
                Problem(
                    file=path,
                    line=line or experiment.line(where),
                    field=where,
                    message=message,
                )
            )
        )
    return located
