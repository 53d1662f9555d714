"""Readiness: may this replica receive traffic? Database, migrations and draining decide;
the cache is reported but does not gate (the catalogue survives without it)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from shop.cache import RedisGateway
from shop.database import Pool, deadline
from shop.metrics import Metrics
from shop.migrations import pending_migrations

log = logging.getLogger(__name__)


class Readiness:
    """Answers /ready; `start_draining` turns it false for good (shutdown has begun)."""

    def __init__(self, pool: Pool, redis: RedisGateway, metrics: Metrics, timeout: float) -> None:
        self._pool = pool
        self._redis = redis
        self._metrics = metrics
        self._timeout = timeout
        self._migrations_current = False
        self.draining = False

    def start_draining(self) -> None:
        """Report not-ready from now on, so load balancers stop sending new requests."""
        if not self.draining:
            self.draining = True
            self._metrics.ready.set(0)
            log.info("draining: readiness is now false")

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """Run the checks concurrently; return (ready, per-check details)."""
        database, cache = await asyncio.gather(self._check_database(), self._check_cache())
        migrations = database.pop("migrations")
        ready = database["ok"] and migrations["ok"] and not self.draining
        self._metrics.ready.set(1 if ready else 0)
        return ready, {
            "ready": ready,
            "draining": self.draining,
            "checks": {"database": database, "migrations": migrations, "cache": cache},
        }

    async def _check_database(self) -> dict[str, Any]:
        unknown = {"ok": False, "error": "database unreachable"}
        try:
            # A deadline, not asyncio.timeout: cancelling psycopg mid-exchange makes it send a
            # cancel request and wait for the server, up to 10 s more on a blackholed link.
            with deadline(self._timeout):
                async with self._pool.connection(timeout=self._timeout) as conn:
                    await conn.execute("SELECT 1")
                    if not self._migrations_current:
                        pending = await pending_migrations(conn)
                        if pending:
                            return {"ok": True, "migrations": {"ok": False, "pending": pending}}
                        # Applied migrations are never undone while we run: check once.
                        self._migrations_current = True
        except Exception as exc:  # any failure means "not ready", reported as such
            return {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}".strip(),
                "migrations": unknown,
            }
        return {"ok": True, "migrations": {"ok": True, "pending": []}}

    async def _check_cache(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._timeout):
                ok = await self._redis.ping()
        except TimeoutError:
            ok = False
        return {"ok": ok, "required": False, "breaker": self._redis.breaker.state.name.lower()}
