"""Migrations from an empty database, and the deterministic seed."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from stormcheck.net import free_port
from suites.shop.databases import fresh_database
from suites.shop.shop_process import run_migrate

pytestmark = pytest.mark.integration

_TABLES = {"categories", "products", "orders", "order_lines"}


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _catalogue_digest(dsn: str) -> tuple[int, int, str]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            """
            SELECT (SELECT count(*) FROM categories), count(*),
                   md5(string_agg(concat_ws('|', id, category_id, sku, name, description, price_cents),
                                  ',' ORDER BY id))
            FROM products
            """
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_migrate_from_empty_creates_schema_and_seed(
    shop_python: str, postgres_dsn: str, redis_url: str
) -> None:
    with fresh_database(postgres_dsn) as dsn:
        assert not _TABLES & _tables(dsn)
        result = run_migrate(shop_python, dsn, redis_url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert _tables(dsn) >= _TABLES
        categories, products, _ = _catalogue_digest(dsn)
        assert categories == 12
        assert products >= 1000
        with psycopg.connect(dsn) as conn:
            applied = {r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration")}
            unique = conn.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = 'orders_idempotency_key_unique' AND contype = 'u'"
            ).fetchone()
        assert applied == {"0001.schema", "0002.seed-catalogue"}
        assert unique is not None
        logs = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert any(r["message"] == "migrations applied" for r in logs)


def test_migrate_twice_is_a_no_op(shop_python: str, postgres_dsn: str, redis_url: str) -> None:
    with fresh_database(postgres_dsn) as dsn:
        assert run_migrate(shop_python, dsn, redis_url).returncode == 0
        before = _catalogue_digest(dsn)
        again = run_migrate(shop_python, dsn, redis_url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert any(
            json.loads(line)["message"] == "schema is current" for line in again.stdout.splitlines()
        )
        assert _catalogue_digest(dsn) == before


def test_concurrent_replicas_migrate_once(
    shop_python: str, postgres_dsn: str, redis_url: str
) -> None:
    with fresh_database(postgres_dsn) as dsn:
        with ThreadPoolExecutor(3) as pool:
            results = list(pool.map(lambda _: run_migrate(shop_python, dsn, redis_url), range(3)))
        assert [r.returncode for r in results] == [0, 0, 0], [r.stdout + r.stderr for r in results]
        assert _catalogue_digest(dsn)[1] == 1200


def test_seed_is_deterministic(shop_python: str, postgres_dsn: str, redis_url: str) -> None:
    with fresh_database(postgres_dsn) as first, fresh_database(postgres_dsn) as second:
        assert run_migrate(shop_python, first, redis_url).returncode == 0
        assert run_migrate(shop_python, second, redis_url).returncode == 0
        assert _catalogue_digest(first) == _catalogue_digest(second)


def test_migrate_gives_up_after_its_deadline(shop_python: str, redis_url: str) -> None:
    unreachable = f"postgresql://nobody@127.0.0.1:{free_port()}/shop"
    result = run_migrate(shop_python, unreachable, redis_url)
    assert result.returncode == 1
    messages = [json.loads(line)["message"] for line in result.stdout.splitlines() if line.strip()]
    assert "database not reachable for migrations, retrying" in messages
    assert messages[-1] == "migrations failed"
