"""Builders of request records for tests (no Locust: plain engine types)."""

from __future__ import annotations

from stormcheck.load.request_records import CheckoutAttempt, CheckoutOutcome, RequestRecord

__all__ = ["checkout_record", "record"]


def record(
    *,
    intended_ms: float = 1_000_000.0,
    lag_ms: float = 0.0,
    response_ms: float = 10.0,
    ok: bool = True,
    name: str = "GET /x",
    checkout: CheckoutAttempt | None = None,
) -> RequestRecord:
    """One request attempt due at ``intended_ms``, sent ``lag_ms`` later, taking ``response_ms``."""
    sent = intended_ms + lag_ms
    return RequestRecord(
        name=name,
        method="GET" if checkout is None else "POST",
        intended_ms=intended_ms,
        sent_ms=sent,
        end_ms=sent + response_ms,
        response_ms=response_ms,
        status=200 if ok else 503,
        bytes=10,
        ok=ok,
        request_id="r",
        checkout=checkout,
    )


def checkout_record(
    key: str,
    outcome: CheckoutOutcome,
    *,
    attempt: int = 1,
    order_id: int | None = None,
    final: bool = True,
) -> RequestRecord:
    """A checkout attempt with key ``key``."""
    return record(
        ok=outcome is CheckoutOutcome.SUCCESS,
        name="POST /api/v1/orders",
        checkout=CheckoutAttempt(
            key=key, attempt=attempt, outcome=outcome, order_id=order_id, final=final
        ),
    )
