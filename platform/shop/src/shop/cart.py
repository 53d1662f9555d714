"""Carts: one Redis hash per cart id (product id → quantity), expiring when abandoned."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from shop.cache import RedisGateway, cache_key
from shop.errors import ApiError

_CART_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_cart_id(cart_id: str) -> str:
    """Return `cart_id` if it is 1-64 characters of [A-Za-z0-9_-], else raise a 400."""
    if not _CART_ID.match(cart_id):
        raise ApiError(400, "invalid_cart_id", "cart id must be 1-64 characters of A-Z a-z 0-9 _ -")
    return cart_id


class CartStore:
    """Cart contents in Redis. Every call raises DependencyUnavailable when Redis is down."""

    def __init__(self, gateway: RedisGateway, ttl: int) -> None:
        self._gateway = gateway
        self._ttl = ttl

    async def items(self, cart_id: str) -> dict[int, int]:
        """The cart's product quantities (empty for an unknown or expired cart)."""
        raw = await self._gateway.call(lambda r: r.hgetall(_key(cart_id)))
        return {int(product): int(quantity) for product, quantity in raw.items()}

    async def set_quantity(self, cart_id: str, product_id: int, quantity: int) -> None:
        """Set one line's quantity and push the cart's expiry back."""
        key = _key(cart_id)

        async def write(redis: Redis) -> None:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, str(product_id), str(quantity))
                pipe.expire(key, self._ttl)
                await pipe.execute()

        await self._gateway.call(write)

    async def remove(self, cart_id: str, product_id: int) -> None:
        """Remove one line (no error when it is absent)."""
        await self._gateway.call(lambda r: r.hdel(_key(cart_id), str(product_id)))

    async def clear(self, cart_id: str) -> None:
        """Delete the whole cart."""
        await self._gateway.call(lambda r: r.delete(_key(cart_id)))


def _key(cart_id: str) -> str:
    return cache_key("cart", cart_id)
