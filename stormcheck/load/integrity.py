"""Checkout integrity: what the request log says about each idempotency key, checked in PostgreSQL.

Design §4: no key has more than one order, every definitive success has exactly one (the one the
API returned), no definitive rejection has one, and ``unknown`` keys are counted and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import psycopg

from stormcheck.load.analysis import resolve_checkout_keys
from stormcheck.load.request_records import CheckoutOutcome, RequestRecord
from stormcheck.verdict import Evidence, Verdict

__all__ = [
    "ORDERS_BY_KEY",
    "OrdersLookup",
    "judge_checkout_integrity",
    "judge_integrity",
    "orders_in",
]

ORDERS_BY_KEY = (
    "SELECT idempotency_key, array_agg(id ORDER BY id) FROM orders "
    "WHERE idempotency_key = ANY(%s) GROUP BY idempotency_key"
)


# keys -> the order ids stored for each (keys without an order left out); raises psycopg.Error
OrdersLookup = Callable[[Sequence[str]], Mapping[str, Sequence[int]]]


def orders_in(dsn: str) -> OrdersLookup:
    """The orders lookup of the database ``dsn`` (one query per call)."""

    def lookup(keys: Sequence[str]) -> dict[str, list[int]]:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            rows = conn.execute(ORDERS_BY_KEY, (list(keys),)).fetchall()
        return {str(key): [int(i) for i in ids] for key, ids in rows}

    return lookup


def judge_checkout_integrity(records: Sequence[RequestRecord], dsn: str) -> Verdict:
    """The integrity verdict of every checkout key in ``records`` against the database ``dsn``.

    No checkout in the log, or a database that cannot be asked, is ``inconclusive``.
    """
    return judge_integrity(records, orders_in(dsn))


def judge_integrity(records: Sequence[RequestRecord], orders: OrdersLookup) -> Verdict:
    """:func:`judge_checkout_integrity` with the orders per key from ``orders``."""
    name = "checkout integrity"
    resolution = resolve_checkout_keys(records)
    keys = sorted(set(resolution.final) | set(resolution.unfinished))
    if not keys:
        return Verdict.inconclusive(name, "no checkout in the request log")
    try:
        in_db = {str(k): [int(i) for i in ids] for k, ids in orders(keys).items()}
    except psycopg.Error as exc:
        return Verdict.inconclusive(name, f"cannot read orders from PostgreSQL: {exc}".strip())
    successes = resolution.keys_with(CheckoutOutcome.SUCCESS)
    rejected = resolution.keys_with(CheckoutOutcome.REJECTED)
    unknown = resolution.keys_with(CheckoutOutcome.UNKNOWN)
    duplicated = sorted(k for k, ids in in_db.items() if len(ids) > 1)
    missing = [k for k in successes if len(in_db.get(k, [])) != 1]
    mismatched = [
        k
        for k in successes
        if len(in_db.get(k, [])) == 1 and resolution.order_ids.get(k) != set(in_db[k])
    ]
    rejected_with_order = [k for k in rejected if in_db.get(k)]
    details = {
        "keys": len(keys),
        "definitive_successes": len(successes),
        "definitive_rejections": len(rejected),
        "unknown": len(unknown),
        "unknown_keys": unknown[:50],
        "unknown_with_order": sum(1 for k in unknown if in_db.get(k)),
        "unfinished": len(resolution.unfinished),
        "keys_with_several_orders": duplicated[:50],
        "successes_without_exactly_one_order": missing[:50],
        "successes_with_another_order_id": mismatched[:50],
        "rejections_with_an_order": rejected_with_order[:50],
    }
    evidence = Evidence(
        description="orders per idempotency key, request log against PostgreSQL",
        source="postgres",
        query=ORDERS_BY_KEY,
        observed=float(len(duplicated) + len(missing) + len(mismatched) + len(rejected_with_order)),
        objective=0.0,
        details=details,
    )
    problems = [
        f"{len(found)} {what}"
        for found, what in (
            (duplicated, "keys with several orders"),
            (missing, "definitive successes without exactly one order"),
            (mismatched, "successes whose order is not the one the API returned"),
            (rejected_with_order, "definitive rejections with an order"),
        )
        if found
    ]
    summary = (
        f"{len(keys)} keys: {len(successes)} succeeded, {len(rejected)} rejected, "
        f"{len(unknown)} unknown, {len(resolution.unfinished)} unfinished"
    )
    if problems:
        return Verdict.failed(name, f"{summary}; " + "; ".join(problems), evidence)
    return Verdict.passed(name, summary, evidence)
