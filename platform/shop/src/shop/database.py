"""The PostgreSQL connection pool: bounded timeouts everywhere, reconnection with backoff.

Every wait for a reply from the server is bounded on the client too. PostgreSQL enforces
`statement_timeout` itself, but it says so with an error reply; when the link is blackholed (a
frozen host, a route dropped behind something that still ACKs, such as HAProxy in front of
Patroni) that reply never arrives, and neither TCP keepalives nor TCP_USER_TIMEOUT fire, because
the TCP peer is alive. So a reply that has not come `statement_timeout + SHOP_DB_REPLY_GRACE_SECONDS`
after the request was sent is presumed lost: the connection's socket is shut down at once, the
pending operation fails with `DatabaseDeadlineExceeded`, and the pool discards the connection
(its state is unknown). The socket is shut down rather than the task cancelled because psycopg
answers a cancellation by sending a cancel request and waiting up to 2 x 5 s for the server,
which on a dead link is 10 s more of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg.abc import PQGen
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from shop.settings import Settings

log = logging.getLogger(__name__)

RV = TypeVar("RV")

# The monotonic time by which the current scope's database work must be answered (None: unset).
_scope_deadline: ContextVar[float | None] = ContextVar("shop_db_deadline", default=None)


class DatabaseDeadlineExceeded(psycopg.OperationalError):
    """PostgreSQL did not answer in time; the connection was shut down and will be discarded."""


class DeadlineConnection(AsyncConnection[DictRow]):
    """A connection that never waits longer than `reply_timeout` (or its scope's deadline) for
    the server, shutting its socket down when a reply is late."""

    reply_timeout: float | None = None
    severed = False

    async def wait(self, gen: PQGen[RV], *args: Any, **kwargs: Any) -> RV:
        """Run one exchange with the server (psycopg's single waiting point), within the deadline."""
        now = time.monotonic()
        own = None if self.reply_timeout is None else now + self.reply_timeout
        bounds = [d for d in (_scope_deadline.get(), own) if d is not None]
        if not bounds:
            return await super().wait(gen, *args, **kwargs)
        deadline = min(bounds)
        if deadline <= now:
            gen.close()  # nothing of this exchange was sent: the connection is not spoilt
            raise DatabaseDeadlineExceeded("no time left for the database in this scope")
        timer = asyncio.get_running_loop().call_later(deadline - now, self._sever)
        try:
            return await super().wait(gen, *args, **kwargs)
        except psycopg.OperationalError as exc:
            if self.severed and not isinstance(exc, DatabaseDeadlineExceeded):
                raise DatabaseDeadlineExceeded(
                    f"no reply from the database within {deadline - now:.2f} s;"
                    " connection discarded"
                ) from exc
            raise
        finally:
            timer.cancel()

    def _sever(self) -> None:
        """Shut the socket down (not close it: the event loop may still watch its descriptor),
        so the pending read ends at once with an error and libpq marks the connection bad."""
        self.severed = True
        try:
            descriptor = self.pgconn.socket
        except psycopg.OperationalError:
            return  # already closed
        try:
            with socket.socket(fileno=os.dup(descriptor)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            log.warning("late database connection not shut down", extra={"reason": str(exc)})
            return
        log.warning("database reply overdue: connection shut down")


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within the block, every database exchange must be answered `seconds` from now (or by an
    enclosing block's earlier deadline)."""
    until = time.monotonic() + seconds
    outer = _scope_deadline.get()
    token = _scope_deadline.set(until if outer is None else min(outer, until))
    try:
        yield
    finally:
        _scope_deadline.reset(token)


Pool = AsyncConnectionPool[DeadlineConnection]


# How long a wait "without bound" lasts where a library needs a number: longer than any run.
UNBOUNDED_S = 24 * 3600.0


def reply_timeout(settings: Settings) -> float | None:
    """How long the shop waits for any single reply: the server's statement timeout plus grace
    (None, no limit, when bounded waits are switched off)."""
    if not settings.db_bounded_waits:
        return None
    return settings.db_statement_timeout_ms / 1000 + settings.db_reply_grace


def pool_timeout(settings: Settings) -> float:
    """How long a request waits for a pooled connection before its 503."""
    return settings.db_pool_timeout if settings.db_bounded_waits else UNBOUNDED_S


def connection_kwargs(settings: Settings) -> dict[str, Any]:
    """libpq parameters added to the DSN: timeouts, keepalives and a recognisable name."""
    bounded = settings.db_bounded_waits
    return {
        "autocommit": True,
        "row_factory": dict_row,
        # 0: libpq waits for ever; statement_timeout 0: the server never cancels a statement
        "connect_timeout": settings.db_connect_timeout if bounded else 0,
        "application_name": f"shop-{settings.replica}"[:63],
        "options": f"-c statement_timeout={settings.db_statement_timeout_ms if bounded else 0}",
        # Detect a dead peer (killed host, dropped route without an ACKing middlebox) in seconds,
        # also on idle connections; a live peer that swallows bytes is the reply deadline's job.
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
    timeout = reply_timeout(settings)
    # The pre-use check is an empty query: it belongs to acquiring a connection, so it gets no
    # more than the pool's wait.
    check_timeout = None if timeout is None else min(timeout, settings.db_pool_timeout)

    async def configure(conn: DeadlineConnection) -> None:
        conn.reply_timeout = timeout

    async def check(conn: DeadlineConnection) -> None:
        if check_timeout is None:
            await AsyncConnectionPool.check_connection(conn)
            return
        with deadline(check_timeout):
            await AsyncConnectionPool.check_connection(conn)

    pool: Pool = AsyncConnectionPool(
        settings.database_url,
        connection_class=DeadlineConnection,
        kwargs=connection_kwargs(settings),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        timeout=pool_timeout(settings),
        reconnect_timeout=settings.db_reconnect_timeout,
        reconnect_failed=_reconnect_failed,
        configure=configure,
        # A connection broken while idle (database restart, failover) or blackholed is replaced,
        # not handed out.
        check=check,
        name="shop",
        open=False,
    )
    await pool.open(wait=False)
    return pool
