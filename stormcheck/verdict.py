"""Verdicts and their evidence: the one answer every check of the harness gives.

A :class:`Verdict` is ``pass``, ``fail`` or ``inconclusive`` — never a bare boolean — with a
reason and the evidence that supports it. Whatever could not be measured (no data, a query error,
an unreachable backend) is ``inconclusive``, and a gate fails on it unless the user allows it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from stormcheck.errors import ConfigError

__all__ = [
    "Evidence",
    "Outcome",
    "SliEvidence",
    "Verdict",
    "Window",
    "combine",
    "gate_exit_code",
]


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
class SliEvidence:
    """The measurement behind an SLO's SLI: where the SLO is written, what was asked, the counts.

    ``good``/``total`` are the events counted in the window (``None`` when the SLI came from a
    recorded error ratio, which has no counts, or when counting stopped early); ``error_ratio``
    is ``1 - SLI``; ``burn_rate`` how many times faster than an even spend the budget burns.
    ``recorded_series``, ``recorded_at_ms`` and ``recording_lag_s`` are set when the SLI was read
    from a recording rule instead of raw counters.
    """

    slo_file: str = ""
    period: str | None = None
    good_query: str | None = None
    total_query: str | None = None
    good: float | None = None
    total: float | None = None
    error_ratio: float | None = None
    burn_rate: float | None = None
    recorded_series: str | None = None
    recorded_at_ms: int | None = None
    recording_lag_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (every field, ``None`` included)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SliEvidence:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if data.get(f.name) is not None})

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """The names of the typed fields (older ``verdicts.json`` kept them in ``details``)."""
        return frozenset(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One measurement behind a verdict: what was asked, of what, and what came back.

    ``budget_spent`` is the share of the error budget of the SLO's whole period that the window
    consumed: ``(1 - SLI_w) * |w| / ((1 - objective) * period)``. ``sli`` is the typed
    measurement of an SLO evaluation (:class:`SliEvidence`); ``details`` holds free-form extras.
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
    sli: SliEvidence | None = None

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
            "sli": None if self.sli is None else self.sli.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Inverse of :meth:`to_dict`.

        A ``verdicts.json`` written before :class:`SliEvidence` existed kept the SLI's counts and
        queries in ``details``; they are read into ``sli`` (the rest stays in ``details``).
        """
        window = data.get("window")
        details = dict(data.get("details", {}))
        sli_data = data.get("sli")
        if sli_data is None and "slo_file" in details:
            typed = SliEvidence.field_names()
            sli_data = {k: v for k, v in details.items() if k in typed}
            details = {k: v for k, v in details.items() if k not in typed}
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
            details=details,
            sli=None if sli_data is None else SliEvidence.from_dict(sli_data),
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
