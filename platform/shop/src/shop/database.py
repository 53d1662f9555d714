"""The PostgreSQL connection pool: bounded timeouts everywhere, reconnection with backoff."""

from __future__ import annotations

import logging
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from shop.settings import Settings

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    """libpq parameters added to the DSN: timeouts, keepalives and a recognisable name."""
    return {
        "autocommit": True,
        "row_factory": dict_row,
        "connect_timeout": settings.db_connect_timeout,
        "application_name": f"shop-{settings.replica}"[:63],
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        # Detect a dead peer (blackholed network, killed host) in seconds, not hours.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
    }


def _reconnect_failed(pool: Pool) -> None:
    log.error("database reconnection abandoned", extra={"pool": pool.name})


async def open_pool(settings: Settings) -> Pool:
    """Create and start the pool without waiting: readiness stays false until it connects."""
    pool: Pool = AsyncConnectionPool(
        settings.database_url,
        connection_class=AsyncConnection[DictRow],
        kwargs=connection_kwargs(settings),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        timeout=settings.db_pool_timeout,
        reconnect_timeout=settings.db_reconnect_timeout,
        reconnect_failed=_reconnect_failed,
        # A connection broken while idle (database restart, failover) is replaced, not handed out.
        check=AsyncConnectionPool.check_connection,
        name="shop",
        open=False,
    )
    await pool.open(wait=False)
    return pool
