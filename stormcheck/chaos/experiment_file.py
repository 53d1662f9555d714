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

Every problem is one line: ``file: field: message``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stormcheck.errors import ConfigError

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
    """Parse ``path``; :class:`ConfigError` naming the file when it is not a mapping."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{path}: expected an experiment (a mapping), got {type(document).__name__}"
        )
    return ExperimentFile(path, document)


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
    return [f"{path}: {problem}" for problem in problems]
