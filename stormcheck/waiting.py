"""One bounded polling loop for the whole engine.

Waiting for something outside the process (a container's reload, a scrape, a log line, a daemon)
is a poll with a deadline: :func:`poll_until` calls ``check`` until it returns a value, sleeping
``interval_s`` between tries, and raises the caller's own error with the last reason once
``timeout_s`` has passed. ``check`` says why it is not done yet by returning :class:`NotYet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["NotYet", "poll_until"]


@dataclass(frozen=True, slots=True)
class NotYet:
    """Not done yet, and why (the reason the timeout error will carry)."""

    reason: str


def poll_until[T](
    check: Callable[[], T | NotYet],
    *,
    timeout_s: float,
    interval_s: float,
    on_timeout: Callable[[str], BaseException],
) -> T:
    """The first value of ``check()`` that is not :class:`NotYet`, within ``timeout_s``.

    ``check`` runs at least once. Past the deadline, ``on_timeout(last reason)`` is raised.
    Exceptions from ``check`` propagate: catch inside ``check`` what should count as "not yet".
    """
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = check()
        if not isinstance(outcome, NotYet):
            return outcome
        if time.monotonic() + interval_s > deadline:
            raise on_timeout(outcome.reason)
        time.sleep(interval_s)
