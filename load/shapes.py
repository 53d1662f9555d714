"""Load shapes as data: patterns of stages over time, and the open model's arrival plan.

A pattern is a tuple of stages, each ``(until, users, ramped)``: ``until`` and ``users`` are
fractions of the run's length and of the peak user count; a ramped stage spreads its spawning
over its whole length, an unramped one starts its users at once. The shape classes here read
their figures from Locust's options, so a locustfile picks a pattern on the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from locust import LoadTestShape

__all__ = [
    "PATTERNS",
    "ConstantArrivalRateShape",
    "PatternShape",
    "Stage",
    "add_arrival_arguments",
    "add_pattern_arguments",
    "stage_at",
]


@dataclass(frozen=True, slots=True)
class Stage:
    """Until ``until`` (share of the run), hold ``users`` (share of the peak)."""

    until: float
    users: float
    ramped: bool = False


PATTERNS: dict[str, tuple[Stage, ...]] = {
    "ramp": (Stage(1.0, 1.0, ramped=True),),
    "step": (Stage(0.25, 0.25), Stage(0.5, 0.5), Stage(0.75, 0.75), Stage(1.0, 1.0)),
    "spike": (Stage(0.4, 0.2), Stage(0.6, 1.0), Stage(1.0, 0.2)),
    "soak": (Stage(0.1, 1.0, ramped=True), Stage(1.0, 1.0)),
}


def stage_at(
    pattern: tuple[Stage, ...], elapsed_s: float, length_s: float, peak_users: int
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


def add_pattern_arguments(parser: Any) -> None:
    """``--pattern``, ``--peak-users``, ``--pattern-seconds`` (a ``init_command_line_parser`` listener)."""
    group = parser.add_argument_group("stormcheck load pattern")
    group.add_argument("--pattern", choices=sorted(PATTERNS), default="ramp")
    group.add_argument("--peak-users", type=int, default=10)
    group.add_argument("--pattern-seconds", type=float, default=60.0)


def add_arrival_arguments(parser: Any) -> None:
    """``--arrival-rate`` (all generators together), ``--arrival-generators``, ``--max-in-flight``."""
    group = parser.add_argument_group("stormcheck open model")
    group.add_argument("--arrival-rate", type=float, default=10.0, help="requests per second")
    group.add_argument(
        "--arrival-generators",
        type=int,
        default=1,
        help="generator users sharing the rate (one per worker in distributed mode)",
    )
    group.add_argument(
        "--max-in-flight",
        type=int,
        default=400,
        help="requests a generator keeps in flight; beyond, arrivals wait (and their lag shows)",
    )


class PatternShape(LoadTestShape):
    """A closed-model pattern from :data:`PATTERNS`, scaled by ``--peak-users`` and ``--pattern-seconds``."""

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate for now; None ends the run."""
        options = self.runner.environment.parsed_options
        return stage_at(
            PATTERNS[options.pattern],
            self.get_run_time(),
            options.pattern_seconds,
            options.peak_users,
        )


class ConstantArrivalRateShape(LoadTestShape):
    """The open model: a fixed set of arrival generators; the rate is theirs, not the users'.

    Runs for Locust's ``--run-time`` (read here: Locust ignores it for shapes), else until the
    web UI or a signal stops it.
    """

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        """Exactly ``--arrival-generators`` users, all started at once; None after the run time."""
        options = self.runner.environment.parsed_options
        if options.run_time and self.get_run_time() >= options.run_time:
            return None
        return options.arrival_generators, float(options.arrival_generators)
