"""Verdicts and their evidence: the one answer every check of the harness gives.

A :class:`Verdict` is ``pass``, ``fail`` or ``inconclusive`` — never a bare boolean — with a
reason and the evidence that supports it. Whatever could not be measured (no data, a query error,
an unreachable backend) is ``inconclusive``, and a gate fails on it unless the user allows it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stormcheck.errors import ConfigError

__all__ = ["Evidence", "Outcome", "Verdict", "Window", "combine", "gate_exit_code"]


class Outcome(enum.StrEnum):
    """The three answers a check can give."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Window:
    """A time window in UTC epoch milliseconds, start inclusive, end exclusive."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"window ends ({self.end_ms}) before it starts ({self.start_ms})")

    @property
    def seconds(self) -> float:
        """Length of the window in seconds."""
        return (self.end_ms - self.start_ms) / 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One measurement behind a verdict: what was asked, of what, and what came back.

    ``budget_spent`` is the share of the error budget of the SLO's whole period that the window
    consumed: ``(1 - SLI_w) * |w| / ((1 - objective) * period)``.
    """

    description: str
    source: str = ""
    query: str | None = None
    window: Window | None = None
    observed: float | None = None
    objective: float | None = None
    budget_spent: float | None = None
    links: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "description": self.description,
            "source": self.source,
            "query": self.query,
            "window": None
            if self.window is None
            else {"start_ms": self.window.start_ms, "end_ms": self.window.end_ms},
            "observed": self.observed,
            "objective": self.objective,
            "budget_spent": self.budget_spent,
            "links": list(self.links),
            "attachments": list(self.attachments),
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Inverse of :meth:`to_dict`."""
        window = data.get("window")
        return cls(
            description=str(data["description"]),
            source=str(data.get("source", "")),
            query=data.get("query"),
            window=None if window is None else Window(window["start_ms"], window["end_ms"]),
            observed=data.get("observed"),
            objective=data.get("objective"),
            budget_spent=data.get("budget_spent"),
            links=tuple(data.get("links", ())),
            attachments=tuple(data.get("attachments", ())),
            details=dict(data.get("details", {})),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The outcome of one check, with the reason and the evidence behind it."""

    name: str
    outcome: Outcome
    reason: str
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError(f"verdict {self.name!r} has no reason")

    @classmethod
    def passed(cls, name: str, reason: str, *evidence: Evidence) -> Verdict:
        """A check that was measured and met its objective."""
        return cls(name=name, outcome=Outcome.PASS, reason=reason, evidence=evidence)

    @classmethod
    def failed(cls, name: str, reason: str, *evidence: Evidence) -> Verdict:
        """A check that was measured and missed its objective."""
        return cls(name=name, outcome=Outcome.FAIL, reason=reason, evidence=evidence)

    @classmethod
    def inconclusive(cls, name: str, reason: str, *evidence: Evidence) -> Verdict:
        """A check that could not be measured: no data, a query error, an unreachable backend."""
        return cls(name=name, outcome=Outcome.INCONCLUSIVE, reason=reason, evidence=evidence)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the shape of ``verdicts.json`` entries)."""
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict`; raises :class:`ConfigError` on an unknown outcome."""
        try:
            outcome = Outcome(data["outcome"])
        except ValueError:
            raise ConfigError(
                f"verdict {data.get('name')!r}: outcome {data['outcome']!r} is not one of "
                + ", ".join(o.value for o in Outcome)
            ) from None
        return cls(
            name=str(data["name"]),
            outcome=outcome,
            reason=str(data["reason"]),
            evidence=tuple(Evidence.from_dict(e) for e in data.get("evidence", ())),
        )

    def explain(self) -> str:
        """A few lines for a human: outcome, reason, and each piece of evidence."""
        lines = [f"{self.name}: {self.outcome.value.upper()} - {self.reason}"]
        for e in self.evidence:
            parts = [e.description]
            if e.query:
                parts.append(f"query={e.query}")
            if e.observed is not None:
                parts.append(f"observed={e.observed:g}")
            if e.objective is not None:
                parts.append(f"objective={e.objective:g}")
            if e.budget_spent is not None:
                parts.append(f"budget_spent={e.budget_spent:.2%}")
            lines.append("  - " + "; ".join(parts))
        return "\n".join(lines)


def combine(name: str, verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of a set of checks: any fail fails; else any inconclusive; else pass.

    An empty set measured nothing, so it is inconclusive.
    """
    items = tuple(verdicts)
    if not items:
        return Verdict.inconclusive(name, "no check was evaluated")
    evidence = tuple(e for v in items for e in v.evidence)
    for outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE):
        hits = [v for v in items if v.outcome is outcome]
        if hits:
            reason = f"{len(hits)} of {len(items)} {outcome.value}: " + ", ".join(
                v.name for v in hits
            )
            return Verdict(name=name, outcome=outcome, reason=reason, evidence=evidence)
    return Verdict.passed(name, f"all {len(items)} checks passed", *evidence)


def gate_exit_code(verdict: Verdict, *, allow_inconclusive: bool = False) -> int:
    """Process exit code of a gate: 0 pass, 1 fail, 2 inconclusive (0 if allowed)."""
    if verdict.outcome is Outcome.PASS:
        return 0
    if verdict.outcome is Outcome.FAIL:
        return 1
    return 0 if allow_inconclusive else 2
