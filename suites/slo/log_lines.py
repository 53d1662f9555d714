"""Shop log lines with known counts, for the log-based SLO and the joint assertions.

The documents have the shape the shop writes (``platform/shop/src/shop/logs.py`` and its request
middleware: logger ``shop.access``, message ``request``, method, route, status, duration_ms) plus
the shipper's ``@timestamp``. Times are fixed (``series.T0``, 2026-01-01), so every window and
count below is a constant, and the expectations are computed here from the same constants.

Checkout (``POST /api/v1/orders``) request lines, one every 600 ms:

* window A = [T0, T0+10m): 1000 lines; 5 answered 5xx (3 x 500, 2 x 503), 50 answered 409,
  the rest 201 — SLI 995/1000;
* window B = [T0+10m, T0+20m): 1000 lines; only the first, at exactly T0+10m, answered 503 —
  SLI 999/1000, exactly the 99.9 % objective;
* window C = [T0+20m, T0+30m): no checkout line at all, only other traffic (no traffic);
* the newest document is at T0+40m, so windows ending later are stale.

Lines that must not be counted: a checkout 500 one millisecond before A, 5xx of other routes,
of another service on the same route, and ``shop.error`` ERROR lines (which carry no route).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.timeline import iso_ms
from suites.slo.series import HAPROXY, STEP_S, T0, at

__all__ = [
    "BURST_EVENTS",
    "CHECKOUT",
    "JOINT_SELECTOR",
    "JOINT_WINDOW",
    "WINDOWS",
    "checkout_documents",
    "index_in_batches",
    "joint_documents",
    "unique_prefix",
]

STEP_MS = 600
LINES = 1000
CHECKOUT = {"service": "shop", "logger": "shop.access", "method": "POST", "route": "/api/v1/orders"}
#: window name -> (start minute, end minute, good lines, total lines)
WINDOWS: dict[str, tuple[int, int, int, int]] = {
    "A": (0, 10, LINES - 5, LINES),
    "B": (10, 20, LINES - 1, LINES),
    "C": (20, 30, 0, 0),
}
NEWEST_MINUTE = 40


def unique_prefix(purpose: str) -> str:
    """A fresh index name prefix under the template's ``logs-*`` pattern."""
    return f"logs-{purpose}-{uuid.uuid4().hex[:8]}"


def index_in_batches(
    store: OpenSearchStore, index: str, documents: Iterator[dict[str, Any]], batch: int = 400
) -> int:
    """``_bulk`` ``documents`` in batches (a half-CPU node answers each well within the client's
    5 s), searchable when this returns; how many were indexed."""
    pending = list(documents)
    done = 0
    for first in range(0, len(pending), batch):
        chunk = pending[first : first + batch]
        done += store.index_documents(index, chunk, refresh=first + batch >= len(pending))
    return done


def _line(at_ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "@timestamp": iso_ms(at_ms),
        "ts": iso_ms(at_ms),
        "level": "info",
        "logger": "shop.access",
        "message": "request",
        "service": "shop",
        "replica": "shop-1",
        "zone": "a",
        "request_id": uuid.uuid4().hex,
        "duration_ms": 12.5,
        **fields,
    }


def _checkout(at_ms: int, status: int) -> dict[str, Any]:
    return _line(at_ms, method="POST", path="/api/v1/orders", route="/api/v1/orders", status=status)


def _status_in_a(k: int) -> int:
    if k % 200 == 7:  # k = 7, 207, ..., 807: five 5xx
        return 500 if k < 607 else 503
    if k % 20 == 3:
        return 409
    return 201


def checkout_documents() -> Iterator[dict[str, Any]]:
    """Every document of the checkout dataset (counts in the module docstring)."""
    start_a, start_b, start_c = at(0), at(10), at(20)
    for k in range(LINES):
        yield _checkout(start_a + k * STEP_MS, _status_in_a(k))
        yield _checkout(start_b + k * STEP_MS, 503 if k == 0 else 201)
    yield _checkout(start_a - 1, 500)
    for k in range(50):
        moment = start_a + k * 7_000
        yield _line(
            moment, method="GET", path="/api/v1/products", route="/api/v1/products", status=500
        )
        yield _line(moment + 1, service="worker", method="POST", route="/api/v1/orders", status=500)
        yield _line(
            moment + 2,
            level="error",
            logger="shop.error",
            message="unhandled error",
            path="/api/v1/orders",
        )
    for k in range(100):
        moment = start_c + k * 6_000
        yield _line(
            moment, method="GET", path="/api/v1/products", route="/api/v1/products", status=200
        )
    yield _line(at(NEWEST_MINUTE), method="GET", route="/api/v1/products", status=200)


# The joint dataset matches series.DATASET's HAProxy checkout counter: 6 x 5xx per 15 s step in
# the burst (T0+120m, T0+130m], 240 in all, and none elsewhere.
JOINT_WINDOW = (110, 140)
JOINT_SELECTOR = f'{HAPROXY}{{proxy="checkout",code="5xx"}}'
BURST_EVENTS = 240


def joint_documents(*, lost: int = 0, extra: int = 0) -> Iterator[dict[str, Any]]:
    """The 5xx request lines of the burst (less ``lost`` of them, plus ``extra``), and others."""
    first_step = 120 * 60 // STEP_S + 1
    emitted = 0
    for step in range(first_step, first_step + 40):
        sample_ms = (T0 + step * STEP_S) * 1000
        for n in range(6):
            emitted += 1
            if emitted > BURST_EVENTS - lost:
                continue
            # between the previous sample and this one, as the counter saw them
            yield _checkout(sample_ms - 10_000 + n * 1_000, 503)
    for n in range(extra):
        yield _checkout(at(125) + n * 100 + 50, 500)
    for minute in range(JOINT_WINDOW[0], JOINT_WINDOW[1] + 11):
        yield _checkout(at(minute), 201)
