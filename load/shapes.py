"""Load shapes for Locust: patterns of stages over time, and the open model's arrival plan.

A pattern is a tuple of stages, each ``(until, users, ramped)``: ``until`` and ``users`` are
fractions of the run's length and of the peak user count; a ramped stage spreads its spawning
over its whole length, an unramped one starts its users at once. The stages are the engine's
(:mod:`stormcheck.load.patterns`: the built-in patterns, the same stage type as a load-shape
file's); the shape classes here read their figures from Locust's options, so a locustfile picks a
pattern, or a load-shape file's stages, on the command line.
"""

from __future__ import annotations

import argparse
from typing import Any

from locust import LoadTestShape

from stormcheck.load.patterns import PATTERNS, parse_stages, stage_at
from stormcheck.load.patterns import ShapeStage as Stage

__all__ = [
    "PATTERNS",
    "ConstantArrivalRateShape",
    "PatternShape",
    "Stage",
    "add_arrival_arguments",
    "add_pattern_arguments",
    "stage_at",
]


def _stages(text: str) -> tuple[Stage, ...]:
    try:
        return parse_stages(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_pattern_arguments(parser: Any) -> None:
    """``--pattern`` or ``--pattern-stages``, ``--peak-users``, ``--pattern-seconds``.

    (An ``init_command_line_parser`` listener.) ``--pattern-stages`` (``until:users:ramped``,
    comma-separated, as ``stormcheck load --shape FILE`` passes a load-shape file's stages)
    replaces the named pattern.
    """
    group = parser.add_argument_group("stormcheck load pattern")
    group.add_argument("--pattern", choices=sorted(PATTERNS), default="ramp")
    group.add_argument(
        "--pattern-stages",
        type=_stages,
        default=None,
        help="stages as until:users:ramped,... (shares of the run and of the peak; ramped 0/1)",
    )
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
    """A closed-model pattern, scaled by ``--peak-users`` and ``--pattern-seconds``.

    The stages are ``--pattern-stages`` when given, else those of ``--pattern`` in :data:`PATTERNS`.
    """

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate for now; None ends the run."""
        options = self.runner.environment.parsed_options
        return stage_at(
            options.pattern_stages or PATTERNS[options.pattern],
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
