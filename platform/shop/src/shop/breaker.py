"""A circuit breaker: after repeated failures stop calling a dependency for a while."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.IntEnum):
    """Breaker states; the values are exported as the `shop_cache_breaker_state` gauge."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Count consecutive failures; open after `failure_threshold`, let one trial call through
    after `reset_seconds`, close again when that trial succeeds.

    Single event loop, no awaits inside: no lock is needed.
    """

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_seconds = reset_seconds
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state (OPEN becomes HALF_OPEN only when a call is allowed through)."""
        return self._state

    def allow(self) -> bool:
        """Whether a call may be attempted now."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self._reset_seconds:
                return False
            self._set(BreakerState.HALF_OPEN)
            self._trial_in_flight = True
            return True
        if self._trial_in_flight:
            return False
        self._trial_in_flight = True
        return True

    def record_success(self) -> None:
        """Report that an allowed call succeeded."""
        self._failures = 0
        self._trial_in_flight = False
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """Report that an allowed call failed."""
        self._trial_in_flight = False
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._opened_at = self._clock()
            if self._state is not BreakerState.OPEN:
                self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self._state = state
        if self._on_change is not None:
            self._on_change(state)
