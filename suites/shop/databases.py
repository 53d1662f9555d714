"""A fresh PostgreSQL database per test module, created next to the one the fixture gives."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg


def with_database(dsn: str, name: str) -> str:
    """`dsn` pointing at database `name` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_host_port(dsn: str, host: str, port: int) -> str:
    """`dsn` pointing at host:port instead (keeps credentials, database and parameters)."""
    parts = urlsplit(dsn)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def fresh_database(dsn: str) -> Iterator[str]:
    """Create an empty database (the fixture's role needs CREATEDB), yield its URL, drop it."""
    name = f"shop_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
