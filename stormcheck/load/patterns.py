"""Load patterns as data: the built-in ones, a stage's figures at a moment, and the stages as text.

A pattern is a tuple of :class:`ShapeStage`, each
``(until, users, ramped)`` in shares of the run's length and of the peak user count: the built-in
:data:`PATTERNS` (``ramp``, ``step``, ``spike``, ``soak``) or the stages of a load-shape file.
Locust's side (``load/shapes.py``) steps through them with :func:`stage_at`; the runner hands a
file's stages to the Locust process as one option value, :func:`format_stages`, which
:func:`parse_stages` reads back, checked by the rules of a load-shape file.

Standard library only: the locustfiles import this module too (the Locust image carries it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PATTERNS",
    "SHAPE_FILE_SUFFIXES",
    "ShapeStage",
    "format_stages",
    "parse_stages",
    "stage_at",
    "stages_problem",
]

SHAPE_FILE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ShapeStage:
    """Until ``until`` (share of the run), hold ``users`` (share of the peak)."""

    until: float
    users: float
    ramped: bool = False


PATTERNS: dict[str, tuple[ShapeStage, ...]] = {
    "ramp": (ShapeStage(1.0, 1.0, ramped=True),),
    "step": (
        ShapeStage(0.25, 0.25),
        ShapeStage(0.5, 0.5),
        ShapeStage(0.75, 0.75),
        ShapeStage(1.0, 1.0),
    ),
    "spike": (ShapeStage(0.4, 0.2), ShapeStage(0.6, 1.0), ShapeStage(1.0, 0.2)),
    "soak": (ShapeStage(0.1, 1.0, ramped=True), ShapeStage(1.0, 1.0)),
}

_RAMPED = {"1": True, "0": False}


def stage_at(
    pattern: Sequence[ShapeStage], elapsed_s: float, length_s: float, peak_users: int
) -> tuple[int, float] | None:
    """``(users, spawn rate)`` at ``elapsed_s`` into a run of ``length_s``; None once it is over."""
    started = 0.0
    for stage in pattern:
        if elapsed_s < stage.until * length_s:
            users = max(1, math.ceil(stage.users * peak_users))
            span = (stage.until - started) * length_s
            rate = users / span if stage.ramped else float(max(users, 1))
            return users, rate
        started = stage.until
    return None


def stages_problem(stages: Sequence[ShapeStage]) -> str | None:
    """What is wrong with ``stages`` by a load-shape file's rules, in one line; None when nothing.

    At least one stage; each ``until`` after the previous one and in (0, 1], the last exactly 1;
    each ``users`` in (0, 1].
    """
    if not stages:
        return "no stages"
    previous = 0.0
    for index, stage in enumerate(stages):
        if not previous < stage.until <= 1:
            return (
                f"stage {index + 1}: until {stage.until:g} is not after {previous:g} and at most 1"
            )
        if not 0 < stage.users <= 1:
            return f"stage {index + 1}: users {stage.users:g} is not in (0, 1]"
        previous = stage.until
    if stages[-1].until != 1:
        return f"the last stage ends at {stages[-1].until:g}, not at the end of the run (1)"
    return None


def format_stages(stages: Sequence[ShapeStage]) -> str:
    """``until:users:ramped`` per stage, comma-separated (``0.5:0.3:0,1.0:1.0:1``); exact floats."""
    return ",".join(f"{s.until!r}:{s.users!r}:{int(s.ramped)}" for s in stages)


def parse_stages(text: str) -> tuple[ShapeStage, ...]:
    """The stages :func:`format_stages` wrote; ``ValueError`` (one line) for anything else."""
    stages: list[ShapeStage] = []
    for index, item in enumerate(text.split(","), start=1):
        parts = item.strip().split(":")
        if len(parts) != 3 or parts[2] not in _RAMPED:  # until, users, ramped
            raise ValueError(
                f"stage {index} {item!r}: expected until:users:ramped (e.g. 0.5:0.3:0),"
                " ramped 0 or 1"
            )
        try:
            until, users = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"stage {index} {item!r}: until and users must be numbers") from None
        if not (math.isfinite(until) and math.isfinite(users)):
            raise ValueError(f"stage {index} {item!r}: until and users must be finite")
        stages.append(ShapeStage(until, users, ramped=_RAMPED[parts[2]]))
    problem = stages_problem(stages)
    if problem:
        raise ValueError(problem)
    return tuple(stages)
