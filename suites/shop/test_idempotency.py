"""Idempotent checkout across two replicas sharing one database."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from suites.shop.databases import fresh_database
from suites.shop.shop_process import ShopProcess

pytestmark = pytest.mark.integration

KEYS = 150
DUPLICATED = 50


@pytest.fixture(scope="module")
def replicas(
    shop_python: str, postgres_dsn: str, redis_url: str
) -> Iterator[tuple[str, ShopProcess, ShopProcess]]:
    # The replicas share one fresh database; yoyo's lock serialises their migrations.
    with (
        fresh_database(postgres_dsn) as dsn,
        ShopProcess(shop_python, dsn, redis_url) as first,
        ShopProcess(shop_python, dsn, redis_url) as second,
    ):
        yield dsn, first, second


def _body(index: int) -> dict[str, object]:
    return {"items": [{"product_id": 1 + index % 1200, "quantity": 1 + index % 3}]}


def test_duplicates_across_replicas_make_exactly_one_order_per_key(
    replicas: tuple[str, ShopProcess, ShopProcess],
) -> None:
    dsn, first, second = replicas
    prefix = uuid.uuid4().hex[:8]
    # Requests: one per key, plus a second copy of the first DUPLICATED keys sent at the same
    # instant to the *other* replica.
    jobs: list[tuple[int, str, threading.Barrier | None]] = []
    for index in range(KEYS):
        url = (first if index % 2 else second).url
        if index < DUPLICATED:
            barrier = threading.Barrier(2, timeout=30)
            other = (second if index % 2 else first).url
            jobs += [(index, url, barrier), (index, other, barrier)]
        else:
            jobs.append((index, url, None))

    def send(job: tuple[int, str, threading.Barrier | None]) -> tuple[int, int, int]:
        index, url, barrier = job
        if barrier is not None:
            barrier.wait()
        response = httpx.post(
            f"{url}/api/v1/orders",
            json=_body(index),
            timeout=30,
            headers={"Idempotency-Key": f"{prefix}-{index}"},
        )
        return index, response.status_code, response.json()["id"]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, jobs))

    assert len(results) == KEYS + DUPLICATED
    created = Counter(index for index, status, _ in results if status == 201)
    assert all(status in (200, 201) for _, status, _ in results)
    assert created == Counter(range(KEYS)), "every key must have exactly one 201"
    order_ids: dict[int, set[int]] = {}
    for index, _, order_id in results:
        order_ids.setdefault(index, set()).add(order_id)
    assert all(len(ids) == 1 for ids in order_ids.values()), "both copies must name the same order"

    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT idempotency_key),"
            " (SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id"
            "  WHERE o.idempotency_key LIKE %(p)s)"
            " FROM orders WHERE idempotency_key LIKE %(p)s",
            {"p": f"{prefix}-%"},
        ).fetchone()
    assert row == (KEYS, KEYS, KEYS)


def test_same_key_with_another_body_is_rejected_on_either_replica(
    replicas: tuple[str, ShopProcess, ShopProcess],
) -> None:
    _, first, second = replicas
    key = f"reuse-{uuid.uuid4().hex}"
    created = httpx.post(
        f"{first.url}/api/v1/orders", json=_body(1), headers={"Idempotency-Key": key}
    )
    assert created.status_code == 201
    replay = httpx.post(
        f"{second.url}/api/v1/orders", json=_body(1), headers={"Idempotency-Key": key}
    )
    assert replay.status_code == 200 and replay.json()["id"] == created.json()["id"]
    reused = httpx.post(
        f"{second.url}/api/v1/orders", json=_body(2), headers={"Idempotency-Key": key}
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
