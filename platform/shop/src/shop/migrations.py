"""Schema migrations: plain SQL files in `shop/migrations/`, applied with yoyo-migrations.

yoyo takes a lock in the database, so replicas starting together apply each migration once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from yoyo import get_backend, read_migrations  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: yoyo's bookkeeping table (its documented default name).
MIGRATION_TABLE = "_yoyo_migration"


def migration_ids() -> list[str]:
    """The ids of every migration shipped with this version, in file order."""
    return sorted(
        path.name.removesuffix(".sql")
        for path in MIGRATIONS_DIR.glob("*.sql")
        if not path.name.endswith(".rollback.sql")
    )


def yoyo_url(database_url: str) -> str:
    """The libpq URL rewritten for yoyo's psycopg 3 backend."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme not in {"postgres", "postgresql"}:
        raise ValueError("the database URL must start with postgresql:// or postgres://")
    return f"postgresql+psycopg://{rest}"


def apply_migrations(database_url: str, deadline_seconds: float) -> list[str]:
    """Apply pending migrations; retry the connection with backoff until the deadline.

    Returns the ids applied by this call (empty when the schema was already current).
    """
    give_up_at = time.monotonic() + deadline_seconds
    delay = 0.5
    while True:
        try:
            backend = get_backend(yoyo_url(database_url))
            break
        except psycopg.OperationalError as exc:
            if time.monotonic() + delay > give_up_at:
                raise
            log.warning(
                "database not reachable for migrations, retrying",
                extra={"retry_in_seconds": delay, "error": str(exc).strip()},
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        ids = [migration.id for migration in pending]
        if ids:
            backend.apply_migrations(pending)
    backend.connection.close()
    log.info("migrations applied" if ids else "schema is current", extra={"migrations": ids})
    return ids


async def pending_migrations(conn: AsyncConnection[DictRow]) -> list[str]:
    """Ids of shipped migrations not yet recorded as applied in the database."""
    cursor = await conn.execute("SELECT to_regclass(%s) AS t", (MIGRATION_TABLE,))
    row = await cursor.fetchone()
    if row is None or row["t"] is None:
        return migration_ids()
    cursor = await conn.execute(f"SELECT migration_id FROM {MIGRATION_TABLE}")
    applied = {r["migration_id"] for r in await cursor.fetchall()}
    return [mid for mid in migration_ids() if mid not in applied]
