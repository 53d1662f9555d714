"""Redis, reached through one endpoint and guarded by a circuit breaker.

Catalogue reads treat Redis as optional (read-through cache, failures fall back to
PostgreSQL); the cart needs it and turns its absence into `DependencyUnavailable`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shop.breaker import CircuitBreaker
from shop.errors import CircuitOpen, DependencyUnavailable
from shop.metrics import Metrics
from shop.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


def connect_redis(settings: Settings) -> Redis:
    """A client whose every call fails within `SHOP_REDIS_TIMEOUT_SECONDS` (no retries:
    the breaker, not a retry loop, decides when to try again)."""
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=settings.redis_max_connections,
        health_check_interval=0,
    )


class RedisGateway:
    """Runs Redis calls through the breaker, counting and classifying failures."""

    def __init__(self, client: Redis, breaker: CircuitBreaker, metrics: Metrics) -> None:
        self.client = client
        self.breaker = breaker
        self._metrics = metrics

    async def call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run `operation`; raise DependencyUnavailable when the breaker is open or it fails."""
        if not self.breaker.allow():
            raise CircuitOpen("redis")
        try:
            result = await operation(self.client)
        except (RedisError, OSError, TimeoutError) as exc:
            self.breaker.record_failure()
            kind = "timeout" if isinstance(exc, (TimeoutError, RedisTimeoutError)) else "error"
            self._metrics.dependency_errors.labels("redis", kind).inc()
            raise DependencyUnavailable("redis", f"{type(exc).__name__}: {exc}") from exc
        self.breaker.record_success()
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (bypasses the breaker: readiness reports the truth)."""
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError, TimeoutError):
            return False


class CatalogueCache:
    """Read-through JSON cache for catalogue reads; never fails a request."""

    def __init__(self, gateway: RedisGateway, metrics: Metrics, ttl: int) -> None:
        self._gateway = gateway
        self._metrics = metrics
        self._ttl = ttl

    async def read_through(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """Return the cached value of `key`, else `load()` it from the database and cache it."""
        try:
            raw = await self._gateway.call(lambda r: r.get(key))
        except DependencyUnavailable as exc:
            self._metrics.cache.labels("bypass" if isinstance(exc, CircuitOpen) else "error").inc()
            return await load()
        if raw is not None:
            self._metrics.cache.labels("hit").inc()
            cached: T = json.loads(raw)
            return cached
        self._metrics.cache.labels("miss").inc()
        value = await load()
        encoded = json.dumps(value, separators=(",", ":"))
        try:
            await self._gateway.call(lambda r: r.set(key, encoded, ex=self._ttl))
        except DependencyUnavailable as exc:
            log.warning("cache write failed", extra={"key": key, "reason": exc.reason})
        return value


def cache_key(*parts: Any) -> str:
    """A namespaced cache key; bump the version when the cached shape changes."""
    return "shop:v1:" + ":".join(str(part) for part in parts)
