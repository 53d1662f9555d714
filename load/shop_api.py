"""Calls of the shop API as users make them: stamped, named, judged, and checkouts made safe.

Every call sends ``X-Request-ID`` and records it (and, in the open model, the intended send time)
in the request's context for the request log. :func:`checkout` retries an ambiguous answer
(timeout, reset, 5xx) with the same idempotency key until it gets a definitive one, or marks the
key ``unknown`` after the last attempt (design §4).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

import gevent
from locust.contrib.fasthttp import FastHttpSession

from load.request_log import CHECKOUT, new_request_id, stamp
from stormcheck.load.records import CheckoutAttempt, CheckoutOutcome

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
    client: FastHttpSession,
    method: str,
    path: str,
    *,
    name: str,
    expect: tuple[int, ...] = (200,),
    intended_ms: float | None = None,
    json: Any = None,
) -> Any:
    """One request; a status outside ``expect`` is a failure. Returns the parsed JSON or None."""
    request_id = new_request_id()
    with client.request(
        method,
        path,
        name=name,
        json=json,
        headers={"X-Request-ID": request_id},
        catch_response=True,
        context=stamp(request_id, intended_ms),
    ) as response:
        if response.status_code not in expect:
            response.failure(f"{method} {name} answered {response.status_code}")
            return None
        try:
            return response.json() if response.content else None
        except ValueError:
            response.failure(f"{method} {name}: answer is not JSON")
            return None


def classify_checkout(status: int) -> CheckoutOutcome:
    """Definitive success (2xx), definitive rejection (4xx), or ambiguous (no answer, 5xx)."""
    if 200 <= status < 300:
        return CheckoutOutcome.SUCCESS
    if 400 <= status < 500:
        return CheckoutOutcome.REJECTED
    return CheckoutOutcome.AMBIGUOUS


def checkout(
    client: FastHttpSession,
    body: Mapping[str, Any],
    *,
    intended_ms: float | None = None,
    attempts: int = CHECKOUT_ATTEMPTS,
) -> CheckoutOutcome:
    """Place an order with a fresh idempotency key; retry ambiguity with the same key."""
    key = uuid.uuid4().hex
    outcome = CheckoutOutcome.UNKNOWN
    for attempt in range(1, attempts + 1):
        request_id = new_request_id()
        context = stamp(request_id, intended_ms if attempt == 1 else None)
        with client.request(
            "POST",
            "/api/v1/orders",
            name="POST /api/v1/orders",
            json=dict(body),
            headers={"X-Request-ID": request_id, "Idempotency-Key": key},
            catch_response=True,
            context=context,
        ) as response:
            outcome = classify_checkout(response.status_code)
            order_id = None
            if outcome is CheckoutOutcome.SUCCESS:
                try:
                    order_id = int(response.json()["id"])
                except (ValueError, KeyError, TypeError):
                    outcome = CheckoutOutcome.AMBIGUOUS  # a 2xx without an order id proves nothing
            final = outcome is not CheckoutOutcome.AMBIGUOUS or attempt == attempts
            if outcome is CheckoutOutcome.AMBIGUOUS and final:
                outcome = CheckoutOutcome.UNKNOWN
            # The event fires when the with-block exits; the context it carries is this dict.
            response.request_meta["context"][CHECKOUT] = CheckoutAttempt(
                key=key, attempt=attempt, outcome=outcome, order_id=order_id, final=final
            ).to_dict()
            if outcome is CheckoutOutcome.SUCCESS:
                response.success()
            else:
                response.failure(f"checkout {outcome.value}: answered {response.status_code}")
        if final:
            return outcome
        gevent.sleep(_BACKOFF_S[min(attempt - 1, len(_BACKOFF_S) - 1)] * random.uniform(0.8, 1.2))
    return outcome
