"""Calls of the shop API as users make them: stamped, named, judged, and checkouts made safe.

Calls go through :class:`load.lean_http.LeanClient`, which sends ``X-Request-ID`` and records it
(and, in the open model, the intended send time) in the request's context for the request log. :func:`checkout` retries an ambiguous answer
(timeout, reset, 5xx) with the same idempotency key until it gets a definitive one, or marks the
key ``unknown`` after the last attempt (design §4).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

import gevent

from load.lean_http import LeanClient
from load.request_log import CHECKOUT
from stormcheck.load.request_records import CheckoutAttempt, CheckoutOutcome

__all__ = [
    "CHECKOUT_ATTEMPTS",
    "PRODUCT_IDS",
    "SEARCH_WORDS",
    "call",
    "checkout",
    "classify_checkout",
]

PRODUCT_IDS = range(1, 1201)  # the shop's deterministic seed: 1,200 products
SEARCH_WORDS = ("lamp", "chair", "kettle", "backpack", "speaker", "rustic", "handmade", "compact")
CHECKOUT_ATTEMPTS = 5
_BACKOFF_S = (0.2, 0.4, 0.8, 1.6)


def call(
    client: LeanClient,
    method: str,
    path: str,
    *,
    name: str,
    expect: tuple[int, ...] = (200,),
    intended_ms: float | None = None,
    json: Any = None,
) -> Any:
    """One request; a status outside ``expect`` is a failure. Returns the parsed JSON or None."""
    with client.request(method, path, name=name, json=json, intended_ms=intended_ms) as answer:
        if answer.status_code not in expect:
            answer.failure(f"{method} {name} answered {answer.status_code}")
            return None
        answer.success()
        try:
            return answer.json() if answer.content else None
        except ValueError:
            answer.failure(f"{method} {name}: answer is not JSON")
            return None


HTTP_TOO_MANY_REQUESTS = 429


def classify_checkout(status: int, *, retry: bool = False) -> CheckoutOutcome:
    """Definitive success (2xx), definitive rejection (4xx), or ambiguous (no answer, 5xx).

    A 429 (the ingress shedding load, or its rate limit) says this attempt was not processed and
    nothing about an earlier one: on a retry of an ambiguous attempt it is ambiguous too, since
    the earlier attempt may have placed the order.
    """
    if 200 <= status < 300:
        return CheckoutOutcome.SUCCESS
    if status == HTTP_TOO_MANY_REQUESTS and retry:
        return CheckoutOutcome.AMBIGUOUS
    if 400 <= status < 500:
        return CheckoutOutcome.REJECTED
    return CheckoutOutcome.AMBIGUOUS


def checkout(
    client: LeanClient,
    body: Mapping[str, Any],
    *,
    intended_ms: float | None = None,
    attempts: int = CHECKOUT_ATTEMPTS,
) -> CheckoutOutcome:
    """Place an order with a fresh idempotency key; retry ambiguity with the same key."""
    key = uuid.uuid4().hex
    outcome = CheckoutOutcome.UNKNOWN
    for attempt in range(1, attempts + 1):
        with client.request(
            "POST",
            "/api/v1/orders",
            name="POST /api/v1/orders",
            json=dict(body),
            headers={"Idempotency-Key": key},
            intended_ms=intended_ms if attempt == 1 else None,
        ) as answer:
            outcome = classify_checkout(answer.status_code, retry=attempt > 1)
            order_id = None
            if outcome is CheckoutOutcome.SUCCESS:
                try:
                    order_id = int(answer.json()["id"])
                except (ValueError, KeyError, TypeError):
                    outcome = CheckoutOutcome.AMBIGUOUS  # a 2xx without an order id proves nothing
            final = outcome is not CheckoutOutcome.AMBIGUOUS or attempt == attempts
            if outcome is CheckoutOutcome.AMBIGUOUS and final:
                outcome = CheckoutOutcome.UNKNOWN
            # The event fires when the with-block exits, with this context.
            answer.context[CHECKOUT] = CheckoutAttempt(
                key=key, attempt=attempt, outcome=outcome, order_id=order_id, final=final
            ).to_dict()
            if outcome is CheckoutOutcome.SUCCESS:
                answer.success()
            else:
                answer.failure(f"checkout {outcome.value}: answered {answer.status_code}")
        if final:
            return outcome
        gevent.sleep(_BACKOFF_S[min(attempt - 1, len(_BACKOFF_S) - 1)] * random.uniform(0.8, 1.2))
    return outcome
