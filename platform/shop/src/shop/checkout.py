"""Checkout: turn items into an order exactly once per idempotency key.

The UNIQUE constraint on orders.idempotency_key is the only arbiter between concurrent
duplicates, whichever replica serves them: `INSERT ... ON CONFLICT DO NOTHING` waits for a
concurrent inserter of the same key to commit or roll back, then either wins or sees its order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shop.cart import validate_cart_id
from shop.errors import ApiError

if TYPE_CHECKING:
    from shop.database import Pool

MAX_LINES = 100
MAX_QUANTITY = 1000
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class CheckoutRequest:
    """A validated checkout body: explicit items, or the id of a cart to check out."""

    items: tuple[tuple[int, int], ...]
    cart_id: str | None
    fingerprint: str


@dataclass(frozen=True)
class PlacedOrder:
    """The order answering a checkout, and whether this call created it."""

    order: dict[str, Any]
    created: bool


def validate_idempotency_key(key: str | None) -> str:
    """Return the key if it is 1-255 printable ASCII characters, else raise a 400."""
    if key is None:
        raise ApiError(400, "missing_idempotency_key", "the Idempotency-Key header is required")
    if not _KEY.match(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 printable ASCII characters",
        )
    return key


def _positive_int(value: Any, field: str, maximum: int) -> int:
    # bool is an int in Python; a JSON `true` is not a quantity.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ApiError(422, "invalid_body", f"{field} must be an integer between 1 and {maximum}")
    return value


def merge_lines(lines: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sum the quantities of repeated products; order by product id."""
    merged: dict[int, int] = {}
    for product_id, quantity in lines:
        merged[product_id] = merged.get(product_id, 0) + quantity
    return tuple(sorted(merged.items()))


def parse_checkout(body: Any) -> CheckoutRequest:
    """Validate a checkout body `{"items": [{"product_id", "quantity"}...]}` or `{"cart_id"}`."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    unknown = set(body) - {"items", "cart_id"}
    if unknown:
        raise ApiError(422, "invalid_body", f"unknown fields: {', '.join(sorted(unknown))}")
    if ("items" in body) == ("cart_id" in body):
        raise ApiError(422, "invalid_body", "give exactly one of items or cart_id")
    # Hash the parsed document, so that whitespace or key order do not make a "different body".
    fingerprint = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    if "cart_id" in body:
        if not isinstance(body["cart_id"], str):
            raise ApiError(422, "invalid_body", "cart_id must be a string")
        return CheckoutRequest((), validate_cart_id(body["cart_id"]), fingerprint)
    items = body["items"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LINES:
        raise ApiError(422, "invalid_body", f"items must be a list of 1 to {MAX_LINES} lines")
    lines: list[tuple[int, int]] = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"product_id", "quantity"}:
            raise ApiError(422, "invalid_body", "each item is {product_id, quantity}")
        lines.append(
            (
                _positive_int(item["product_id"], "product_id", 2**31 - 1),
                _positive_int(item["quantity"], "quantity", MAX_QUANTITY),
            )
        )
    return CheckoutRequest(merge_lines(lines), None, fingerprint)


class Orders:
    """Order creation and lookup."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def find_by_key(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The order already placed with `key`, or None; a 422 if it was placed with another body."""
        async with self._pool.connection() as conn:
            return await _existing(conn, key, fingerprint)

    async def get(self, order_id: int) -> dict[str, Any] | None:
        """One order with its lines, or None."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, idempotency_key, total_cents, created_at FROM orders WHERE id = %s",
                (order_id,),
            )
            row = await cursor.fetchone()
            return await _with_lines(conn, row) if row else None

    async def place(
        self, key: str, fingerprint: str, items: tuple[tuple[int, int], ...]
    ) -> PlacedOrder:
        """Create the order in one transaction, or return the one a concurrent duplicate created."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                """
                INSERT INTO orders (idempotency_key, request_hash, total_cents)
                VALUES (%s, %s, 0)
                ON CONFLICT ON CONSTRAINT orders_idempotency_key_unique DO NOTHING
                RETURNING id
                """,
                (key, fingerprint),
            )
            inserted = await cursor.fetchone()
            if inserted is None:
                existing = await _existing(conn, key, fingerprint)
                if existing is None:  # pragma: no cover - the conflicting row is committed
                    raise RuntimeError("idempotency key conflicted but no order was found")
                return PlacedOrder(existing, created=False)
            order_id = inserted["id"]
            product_ids = [product_id for product_id, _ in items]
            cursor = await conn.execute(
                "SELECT id, price_cents FROM products WHERE id = ANY(%s)", (product_ids,)
            )
            prices = {row["id"]: row["price_cents"] for row in await cursor.fetchall()}
            missing = sorted(set(product_ids) - set(prices))
            if missing:
                # Raising inside the transaction rolls back the order row too.
                raise ApiError(
                    422, "unknown_product", "some products do not exist", {"product_ids": missing}
                )
            async with conn.cursor() as lines_cursor:
                await lines_cursor.executemany(
                    "INSERT INTO order_lines (order_id, product_id, quantity, unit_price_cents)"
                    " VALUES (%s, %s, %s, %s)",
                    [(order_id, pid, qty, prices[pid]) for pid, qty in items],
                )
            total = sum(prices[pid] * qty for pid, qty in items)
            cursor = await conn.execute(
                "UPDATE orders SET total_cents = %s WHERE id = %s"
                " RETURNING id, idempotency_key, total_cents, created_at",
                (total, order_id),
            )
            row = await cursor.fetchone()
            if row is None:  # pragma: no cover - the row was inserted above
                raise RuntimeError("order vanished inside its own transaction")
            return PlacedOrder(await _with_lines(conn, row), created=True)


async def _existing(
    conn: AsyncConnection[DictRow], key: str, fingerprint: str
) -> dict[str, Any] | None:
    cursor = await conn.execute(
        "SELECT id, idempotency_key, request_hash, total_cents, created_at"
        " FROM orders WHERE idempotency_key = %s",
        (key,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different body",
            {"order_id": row["id"]},
        )
    return await _with_lines(conn, row)


async def _with_lines(conn: AsyncConnection[DictRow], row: Mapping[str, Any]) -> dict[str, Any]:
    cursor = await conn.execute(
        "SELECT product_id, quantity, unit_price_cents FROM order_lines"
        " WHERE order_id = %s ORDER BY product_id",
        (row["id"],),
    )
    return {
        "id": row["id"],
        "idempotency_key": row["idempotency_key"],
        "total_cents": row["total_cents"],
        "created_at": row["created_at"].isoformat(),
        "lines": [dict(line) for line in await cursor.fetchall()],
    }
