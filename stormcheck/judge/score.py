"""The resilience score of a catalogue run: weighted 0-100, with the failing rows' remediation.

Each judged row earns its weight when its result is met (every verdict within its allowed set,
integrity held); the score is the share of the judged weight earned, times 100. A row that was
not measured (platform not ready, a harness error) earns nothing: an unmeasured fault is not a
resilient one. The weights are data (``weights`` in ``experiments/local/expected.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.judge.result import ResilienceResult

__all__ = ["Remediation", "Score", "resilience_score"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Remediation:
    """A row that was not met: what to do about it, and where to read more."""

    experiment: str
    weight: float
    hint: str
    runbook: str
    missed: tuple[str, ...]  # the names of the verdicts outside their allowed sets

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "experiment": self.experiment,
            "weight": self.weight,
            "hint": self.hint,
            "runbook": self.runbook,
            "missed": list(self.missed),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """The score (0-100), the weights earned and judged, and a remediation per failing row."""

    value: float
    earned: float
    total: float
    met: tuple[str, ...]
    remediations: tuple[Remediation, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "score": self.value,
            "earned": self.earned,
            "total": self.total,
            "met": list(self.met),
            "remediations": [r.to_dict() for r in self.remediations],
        }

    def explain(self) -> str:
        """The score, then one line per failing row, heaviest first."""
        lines = [f"resilience score {self.value:.1f}/100 ({self.earned:g} of {self.total:g})"]
        lines += [
            f"  {r.experiment} (weight {r.weight:g}): {r.hint} - {r.runbook}"
            for r in self.remediations
        ]
        return "\n".join(lines)


def resilience_score(results: Iterable[ResilienceResult], weights: Mapping[str, float]) -> Score:
    """The score of ``results``; :class:`ConfigError` for a result whose row has no weight or
    for no result at all (nothing judged is no score)."""
    items = list(results)
    if not items:
        raise ConfigError("resilience score: no judged experiment to score")
    missing = sorted({r.experiment for r in items} - set(weights))
    if missing:
        raise ConfigError(f"resilience score: no weight for {', '.join(missing)}")
    total = sum(weights[r.experiment] for r in items)
    earned = sum(weights[r.experiment] for r in items if r.met)
    remediations = sorted(
        (
            Remediation(
                experiment=r.experiment,
                weight=weights[r.experiment],
                hint=r.row.remediation,
                runbook=r.row.runbook,
                missed=tuple(c.verdict.name for c in r.missed()),
            )
            for r in items
            if not r.met
        ),
        key=lambda m: (-m.weight, m.experiment),
    )
    return Score(
        value=round(100 * earned / total, 1),
        earned=earned,
        total=total,
        met=tuple(r.experiment for r in items if r.met),
        remediations=tuple(remediations),
    )
