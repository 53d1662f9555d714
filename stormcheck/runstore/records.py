"""What the run store keeps of a run, read from its folder.

A run folder (:mod:`stormcheck.runs`) holds the run file, ``verdicts.json`` and, once the
resilience judge has run, one ``resilience/<experiment>.json`` per judged experiment. This module
turns them into typed rows; a file that cannot be read raises :class:`ConfigError` naming the file
and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.runs import RunFolder
from stormcheck.verdict import Verdict, combine

__all__ = [
    "ExperimentRow",
    "RunRecord",
    "VerdictRow",
    "read_run",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictRow:
    """One verdict of a run: what it judged (``name``, the SLO file, the experiment) and how."""

    name: str
    outcome: str
    reason: str
    experiment: str | None = None
    slo: str | None = None
    budget_spent: float | None = None
    observed: float | None = None

    @classmethod
    def of(cls, verdict: Verdict, experiment: str | None = None) -> VerdictRow:
        """The row of ``verdict`` (budget, observed value and SLO from its first evidence)."""
        budget = next(
            (e.budget_spent for e in verdict.evidence if e.budget_spent is not None), None
        )
        observed = next((e.observed for e in verdict.evidence if e.observed is not None), None)
        slo = next((e.sli.slo_file for e in verdict.evidence if e.sli and e.sli.slo_file), None)
        return cls(
            name=verdict.name,
            outcome=verdict.outcome.value,
            reason=verdict.reason,
            experiment=experiment,
            slo=slo,
            budget_spent=budget,
            observed=observed,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRow:
    """The judge's result for one experiment of a run (``result``: the file, relative)."""

    experiment: str
    title: str
    met: bool
    detect_s: float | None
    recover_s: float | None
    result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """Everything the store keeps of one run."""

    run_id: str
    created_ms: int
    profile: str
    stack: str
    state: str
    outcome: str | None
    folder: Path
    git_commit: str | None
    verdicts: tuple[VerdictRow, ...]
    experiments: tuple[ExperimentRow, ...]


def _number(data: Mapping[str, Any], key: str, source: Path) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{source}: field {key!r}: expected a number or null, got {value!r}")
    return float(value)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: unreadable ({exc.strerror})") from None


def _verdicts(items: Any, source: Path, field: str) -> list[Verdict]:
    if not isinstance(items, list):
        raise ConfigError(f"{source}: field {field!r}: expected a list of verdicts")
    verdicts = []
    for index, item in enumerate(items):
        try:
            verdicts.append(Verdict.from_dict(item))
        except ConfigError as exc:
            raise ConfigError(f"{source}: {field}[{index}]: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"{source}: {field}[{index}]: missing or malformed field {exc}"
            ) from None
    return verdicts


def _experiment(path: Path, root: Path) -> tuple[ExperimentRow, list[VerdictRow]]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected an object (a resilience result)")
    met = data.get("met")
    if not isinstance(met, bool):
        raise ConfigError(f"{path}: field 'met': expected true or false, got {met!r}")
    stem = str(data.get("experiment") or path.stem)
    row = ExperimentRow(
        experiment=stem,
        title=str(data.get("title", stem)),
        met=met,
        detect_s=_number(data, "detect_s", path),
        recover_s=_number(data, "recover_s", path),
        result=str(path.relative_to(root)),
    )
    verdicts = _verdicts(data.get("verdicts", []), path, "verdicts")
    return row, [VerdictRow.of(v, experiment=stem) for v in verdicts]


def read_run(folder: RunFolder) -> RunRecord:
    """The store's record of the run in ``folder``.

    ``outcome`` is the combined outcome of ``verdicts.json`` (``None`` before it exists). The
    judge appends its verdicts to ``verdicts.json`` too; they are kept once, attributed to their
    experiment from ``resilience/*.json``.
    """
    manifest = folder.read_manifest()
    verdicts: list[Verdict] = []
    if folder.verdicts_path.exists():
        verdicts = _verdicts(_read_json(folder.verdicts_path), folder.verdicts_path, "verdicts")
    experiments: list[ExperimentRow] = []
    judged: list[VerdictRow] = []
    if folder.resilience_dir.is_dir():
        for path in sorted(folder.resilience_dir.glob("*.json")):
            row, rows = _experiment(path, folder.root)
            experiments.append(row)
            judged.extend(rows)
    attributed = {(r.name, r.outcome, r.reason) for r in judged}
    plain = [
        VerdictRow.of(v) for v in verdicts if (v.name, v.outcome.value, v.reason) not in attributed
    ]
    return RunRecord(
        run_id=manifest.run_id,
        created_ms=manifest.created_ms,
        profile=manifest.profile,
        stack=manifest.stack,
        state=manifest.state,
        outcome=combine("run", verdicts).outcome.value if verdicts else None,
        folder=folder.root,
        git_commit=manifest.provenance.git_commit,
        verdicts=(*plain, *judged),
        experiments=tuple(experiments),
    )
