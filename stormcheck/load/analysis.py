"""Exact figures from the request log: percentiles, counts, rates, schedule lag, checkout keys.

Percentiles use the nearest-rank definition on the raw values (no histogram, no rounding): the
q-th percentile of n values is the ceil(q·n)-th smallest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from stormcheck.load.request_records import CheckoutOutcome, RequestRecord

__all__ = [
    "Basis",
    "KeyResolution",
    "LatencySummary",
    "arrival_rate",
    "percentile",
    "resolve_checkout_keys",
    "schedule_lag_p99",
    "summarise",
]

Basis = Literal["intended", "sent"]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q ≤ 1) of values sorted ascending.

    Raises ValueError for an empty sequence or q outside (0, 1].
    """
    if not sorted_values:
        raise ValueError("no values: a percentile of nothing is undefined")
    if not 0 < q <= 1:
        raise ValueError(f"percentile rank {q} is not in (0, 1]")
    rank = max(1, math.ceil(q * len(sorted_values) - 1e-9))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySummary:
    """Counts and exact latency figures of a set of records, in milliseconds."""

    basis: Basis
    count: int
    failures: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float

    @property
    def error_ratio(self) -> float:
        """Failed attempts over all attempts (0 when there are none)."""
        return self.failures / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-ready form."""
        return {
            "basis": self.basis,
            "count": self.count,
            "failures": self.failures,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
            "mean": self.mean,
        }


def summarise(records: Iterable[RequestRecord], *, basis: Basis = "intended") -> LatencySummary:
    """Exact counts and percentiles; ``basis`` picks latency from the intended or the sent time.

    Raises ValueError when there are no records (nothing was measured).
    """
    items = list(records)
    if not items:
        raise ValueError("no requests in the log: nothing to summarise")
    values = sorted(r.latency_ms if basis == "intended" else r.response_ms for r in items)
    return LatencySummary(
        basis=basis,
        count=len(items),
        failures=sum(1 for r in items if not r.ok),
        p50=percentile(values, 0.50),
        p95=percentile(values, 0.95),
        p99=percentile(values, 0.99),
        max=values[-1],
        mean=sum(values) / len(values),
    )


def arrival_rate(records: Iterable[RequestRecord], *, basis: Basis = "sent") -> float:
    """Arrivals per second over the span from first to last, by actual (default) or intended time.

    By intended time it is the schedule's rate; by sent time, the rate the generator achieved.
    Retries of a checkout are not arrivals: only first attempts count. Raises ValueError with
    fewer than two arrivals.
    """
    times = sorted(
        r.sent_ms if basis == "sent" else r.intended_ms
        for r in records
        if r.checkout is None or r.checkout.attempt == 1
    )
    if len(times) < 2 or times[-1] <= times[0]:
        raise ValueError("fewer than two arrivals: no rate can be measured")
    return (len(times) - 1) / ((times[-1] - times[0]) / 1000)


def schedule_lag_p99(records: Iterable[RequestRecord]) -> float:
    """The p99 of how late first attempts left compared with when they were due, in ms.

    Raises ValueError when there are no records.
    """
    return percentile(
        sorted(r.lag_ms for r in records if r.checkout is None or r.checkout.attempt == 1), 0.99
    )


@dataclass(frozen=True, slots=True)
class KeyResolution:
    """What the request log says each idempotency key came to in the end."""

    final: dict[str, CheckoutOutcome] = field(default_factory=dict)
    order_ids: dict[str, set[int]] = field(default_factory=dict)
    unfinished: tuple[str, ...] = ()  # keys with no final attempt (the run stopped mid-retry)

    def keys_with(self, outcome: CheckoutOutcome) -> list[str]:
        """The keys whose final outcome is ``outcome``, sorted."""
        return sorted(k for k, o in self.final.items() if o is outcome)


def resolve_checkout_keys(records: Iterable[RequestRecord]) -> KeyResolution:
    """Each key's final outcome and every order id the API returned for it."""
    final: dict[str, CheckoutOutcome] = {}
    orders: dict[str, set[int]] = defaultdict(set)
    seen: set[str] = set()
    for record in records:
        attempt = record.checkout
        if attempt is None:
            continue
        seen.add(attempt.key)
        if attempt.order_id is not None:
            orders[attempt.key].add(attempt.order_id)
        if attempt.final:
            final[attempt.key] = attempt.outcome
    return KeyResolution(
        final=final, order_ids=dict(orders), unfinished=tuple(sorted(seen - set(final)))
    )
