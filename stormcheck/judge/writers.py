"""The single-writer check: never two PostgreSQL members accepting writes at the same time.

The evidence is the journal's own record: the rounds of the background sampler
:func:`stormcheck.chaos.local.probes.postgres_writers` (found in the journal's ``run`` list by its
provider function, whatever the experiment names it). Each round asked every member at once
whether it is in recovery. The verdict:

- ``fail``: a round found two or more writable members (the rounds' times and members named);
- ``inconclusive``: no sampler output in the journal, or no round with answers from at least two
  members (then nothing shows two could not be writable together);
- ``pass``: otherwise, with the number of rounds and members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stormcheck.chaos.local.probes import postgres_writers
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Evidence, Verdict

__all__ = ["SAMPLER", "judge_single_writer", "sampler_rounds"]

SAMPLER = (postgres_writers.__module__, postgres_writers.__name__)
_LISTED = 5  # rounds named in a reason; the evidence holds them all


def sampler_rounds(journal: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """Every round the sampler recorded in ``journal`` (in time order); ``None`` when the journal
    holds no output of it (not in the method, failed before it sampled, or another experiment)."""
    found: list[Mapping[str, Any]] | None = None
    for entry in journal.get("run") or []:
        provider = (entry.get("activity") or {}).get("provider") or {}
        if (provider.get("module"), provider.get("func")) != SAMPLER:
            continue
        output = entry.get("output")
        rounds = output.get("rounds") if isinstance(output, Mapping) else None
        if isinstance(rounds, list):
            found = (found or []) + [r for r in rounds if isinstance(r, Mapping)]
    if found is None:
        return None
    return sorted(found, key=lambda r: int(r.get("at_ms") or 0))


def _answers(sample: Mapping[str, Any]) -> dict[str, bool]:
    writable = sample.get("writable") or {}
    return {str(m): w for m, w in writable.items() if isinstance(w, bool)}


def judge_single_writer(name: str, journal: Mapping[str, Any]) -> Verdict:
    """The single-writer verdict of the experiment that wrote ``journal`` (see the module)."""
    rounds = sampler_rounds(journal)
    module, func = SAMPLER
    if rounds is None:
        return Verdict.inconclusive(
            name, f"not measured: the journal holds no output of the sampler {module}.{func}"
        )
    answered = [(r, _answers(r)) for r in rounds]
    both = [(r, a) for r, a in answered if len(a) >= 2]
    split = [
        (int(r.get("at_ms") or 0), sorted(m for m, w in a.items() if w))
        for r, a in answered
        if sum(a.values()) >= 2
    ]
    members = sorted({m for r in rounds for m in (r.get("writable") or {})})
    evidence = Evidence(
        description="members accepting writes (not in recovery), asked every round at once",
        source=f"journal run[]: {module}.{func}",
        observed=float(max((sum(a.values()) for _, a in answered), default=0)),
        objective=1.0,
        details={
            "rounds": len(rounds),
            "rounds_with_two_answers": len(both),
            "members": members,
            "two_writers": [{"at": iso_ms(at), "members": who} for at, who in split],
            "unanswered": _unanswered(rounds),
        },
    )
    if split:
        listed = "; ".join(f"{iso_ms(at)} {', '.join(who)}" for at, who in split[:_LISTED])
        more = f" (+{len(split) - _LISTED} more)" if len(split) > _LISTED else ""
        return Verdict.failed(
            name,
            f"two writable members in {len(split)} of {len(rounds)} rounds: {listed}{more}",
            evidence,
        )
    if not both:
        return Verdict.inconclusive(
            name,
            f"not measured: none of {len(rounds)} rounds had answers from two or more of"
            f" {len(members)} members ({', '.join(members) or 'none'})",
            evidence,
        )
    sizes = sorted({len(a) for _, a in both})
    each = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
    fewer = len(rounds) - len(both)
    return Verdict.passed(
        name,
        f"{len(both)} rounds, {each} members each, at most one writable"
        + (f" ({fewer} more rounds with fewer than two answers)" if fewer else ""),
        evidence,
    )


def _unanswered(rounds: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Per member, in how many rounds it did not answer."""
    counts: dict[str, int] = {}
    for sample in rounds:
        for member, writable in (sample.get("writable") or {}).items():
            if not isinstance(writable, bool):
                counts[str(member)] = counts.get(str(member), 0) + 1
    return counts
