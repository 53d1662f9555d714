"""Every endpoint of the shop, against real PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from suites.shop.databases import fresh_database
from suites.shop.shop_process import ShopProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(shop_python: str, postgres_dsn: str, redis_url: str) -> Iterator[ShopProcess]:
    with (
        fresh_database(postgres_dsn) as dsn,
        ShopProcess(shop_python, dsn, redis_url, SHOP_MAX_BODY_BYTES="4096") as proc,
    ):
        yield proc


@pytest.fixture
def client(shop: ShopProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.url, timeout=10) as http:
        yield http


def _key() -> str:
    return f"test-{uuid.uuid4().hex}"


def _error_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/json")
    code: str = response.json()["error"]["code"]
    return code


def test_health_is_ok(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_each_check(client: httpx.Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["draining"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "pending": []}
    assert body["checks"]["cache"]["ok"] is True


def test_openapi_lists_every_api_route(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {
        "/api/v1/categories",
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/carts/{cart_id}",
        "/api/v1/carts/{cart_id}/items/{product_id}",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/health",
        "/ready",
    } <= set(document["paths"])


def test_categories_list_the_seed(client: httpx.Client) -> None:
    items = client.get("/api/v1/categories").json()["items"]
    assert len(items) == 12
    assert items[0] == {"id": 1, "slug": "books", "name": "Books", "product_count": 100}
    assert sum(item["product_count"] for item in items) == 1200


def test_products_are_paged(client: httpx.Client) -> None:
    first = client.get("/api/v1/products", params={"page_size": 50}).json()
    second = client.get("/api/v1/products", params={"page_size": 50, "page": 2}).json()
    assert first["total"] == 1200
    assert [p["id"] for p in first["items"]] == list(range(1, 51))
    assert [p["id"] for p in second["items"]] == list(range(51, 101))


def test_products_filter_by_category_and_price(client: httpx.Client) -> None:
    body = client.get(
        "/api/v1/products",
        params={
            "category": "garden",
            "min_price_cents": 1000,
            "max_price_cents": 20000,
            "page_size": 100,
        },
    ).json()
    assert 0 < body["total"] < 100
    assert all(
        p["category"] == "garden" and 1000 <= p["price_cents"] <= 20000 for p in body["items"]
    )


def test_products_search(client: httpx.Client) -> None:
    body = client.get("/api/v1/products", params={"q": "kettle", "page_size": 100}).json()
    assert body["total"] > 0
    assert all("Kettle" in p["name"] for p in body["items"])
    assert client.get("/api/v1/products", params={"q": "zzzunknownzzz"}).json()["total"] == 0


def test_product_detail_and_unknown_product(client: httpx.Client) -> None:
    product = client.get("/api/v1/products/7").json()
    assert product["id"] == 7 and product["sku"] == "SKU-00007"
    missing = client.get("/api/v1/products/999999")
    assert missing.status_code == 404 and _error_code(missing) == "not_found"


def test_bad_query_parameters_are_400(client: httpx.Client) -> None:
    for params in (
        {"page": "0"},
        {"page_size": "1000"},
        {"min_price_cents": "abc"},
        {"q": "lamp\x00"},  # PostgreSQL text cannot hold NUL (was a 500)
        {"category": "\x00"},
    ):
        response = client.get("/api/v1/products", params=params)
        assert response.status_code == 400, params
        assert _error_code(response) == "invalid_parameter"


def test_cart_lifecycle(client: httpx.Client) -> None:
    cart = f"cart-{uuid.uuid4().hex[:8]}"
    assert client.get(f"/api/v1/carts/{cart}").json() == {"cart_id": cart, "items": []}
    assert client.put(f"/api/v1/carts/{cart}/items/3", json={"quantity": 2}).status_code == 200
    body = client.put(f"/api/v1/carts/{cart}/items/5", json={"quantity": 1}).json()
    assert body["items"] == [{"product_id": 3, "quantity": 2}, {"product_id": 5, "quantity": 1}]
    body = client.delete(f"/api/v1/carts/{cart}/items/3").json()
    assert body["items"] == [{"product_id": 5, "quantity": 1}]
    assert client.delete(f"/api/v1/carts/{cart}").status_code == 204
    assert client.get(f"/api/v1/carts/{cart}").json()["items"] == []


def test_cart_rejects_bad_input(client: httpx.Client) -> None:
    cart = f"cart-{uuid.uuid4().hex[:8]}"
    negative = client.put(f"/api/v1/carts/{cart}/items/3", json={"quantity": -1})
    assert negative.status_code == 422 and _error_code(negative) == "invalid_body"
    unknown = client.put(f"/api/v1/carts/{cart}/items/999999", json={"quantity": 1})
    assert unknown.status_code == 404 and _error_code(unknown) == "not_found"
    bad_id = client.get("/api/v1/carts/" + "x" * 65)
    assert bad_id.status_code == 400 and _error_code(bad_id) == "invalid_cart_id"


def test_checkout_creates_an_order_once(client: httpx.Client) -> None:
    key = _key()
    body = {"items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]}
    created = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
    assert created.status_code == 201
    order = created.json()
    product_1 = client.get("/api/v1/products/1").json()
    product_2 = client.get("/api/v1/products/2").json()
    assert order["total_cents"] == 2 * product_1["price_cents"] + product_2["price_cents"]
    assert created.headers["location"] == f"/api/v1/orders/{order['id']}"

    replay = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == order

    changed = client.post(
        "/api/v1/orders",
        json={"items": [{"product_id": 1, "quantity": 3}]},
        headers={"Idempotency-Key": key},
    )
    assert changed.status_code == 422 and _error_code(changed) == "idempotency_key_reused"
    assert client.get(f"/api/v1/orders/{order['id']}").json() == order


def test_checkout_from_cart_empties_it(client: httpx.Client) -> None:
    cart = f"cart-{uuid.uuid4().hex[:8]}"
    client.put(f"/api/v1/carts/{cart}/items/10", json={"quantity": 3})
    created = client.post(
        "/api/v1/orders", json={"cart_id": cart}, headers={"Idempotency-Key": _key()}
    )
    assert created.status_code == 201
    assert created.json()["lines"][0]["product_id"] == 10
    assert created.json()["lines"][0]["quantity"] == 3
    assert client.get(f"/api/v1/carts/{cart}").json()["items"] == []
    empty = client.post(
        "/api/v1/orders", json={"cart_id": cart}, headers={"Idempotency-Key": _key()}
    )
    assert empty.status_code == 422 and _error_code(empty) == "empty_cart"


def test_checkout_rejects_bad_input(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": _key(), "content-type": "application/json"}
    cases = [
        ("malformed json", b'{"items": [', headers, 400, "malformed_json"),
        (
            "unknown product",
            b'{"items": [{"product_id": 999999, "quantity": 1}]}',
            headers,
            422,
            "unknown_product",
        ),
        (
            "negative quantity",
            b'{"items": [{"product_id": 1, "quantity": -2}]}',
            headers,
            422,
            "invalid_body",
        ),
        ("oversized body", b'{"items": [' + b" " * 5000 + b"]}", headers, 413, "body_too_large"),
        (
            "no key",
            b'{"items": [{"product_id": 1, "quantity": 1}]}',
            {"content-type": "application/json"},
            400,
            "missing_idempotency_key",
        ),
    ]
    for name, content, case_headers, status, code in cases:
        response = client.post("/api/v1/orders", content=content, headers=case_headers)
        assert (response.status_code, _error_code(response)) == (status, code), name


def test_rejected_checkout_commits_nothing(client: httpx.Client) -> None:
    key = _key()
    bad = {"items": [{"product_id": 1, "quantity": 1}, {"product_id": 999999, "quantity": 1}]}
    assert (
        client.post("/api/v1/orders", json=bad, headers={"Idempotency-Key": key}).status_code == 422
    )
    # Had the order row survived the failed transaction, this would be a 422 key reuse.
    good = {"items": [{"product_id": 1, "quantity": 1}]}
    assert (
        client.post("/api/v1/orders", json=good, headers={"Idempotency-Key": key}).status_code
        == 201
    )


def test_unknown_order_route_and_method(client: httpx.Client) -> None:
    assert client.get("/api/v1/orders/99999999").status_code == 404
    unknown_route = client.get("/no/such/route")
    assert unknown_route.status_code == 404 and _error_code(unknown_route) == "not_found"
    wrong_method = client.delete("/api/v1/products")
    assert wrong_method.status_code == 405 and _error_code(wrong_method) == "method_not_allowed"


def test_request_id_is_echoed_or_generated(client: httpx.Client) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    # A hostile id (log injection) is replaced, not echoed.
    assert client.get("/health", headers={"X-Request-ID": "a\tb"}).headers["x-request-id"] != "a\tb"


def test_logs_are_json_with_the_request_id_on_every_line(
    client: httpx.Client, shop: ShopProcess
) -> None:
    request_id = f"rid-{uuid.uuid4().hex}"
    response = client.post(
        "/api/v1/orders",
        json={"items": [{"product_id": 4, "quantity": 1}]},
        headers={"Idempotency-Key": _key(), "X-Request-ID": request_id},
    )
    assert response.status_code == 201
    records = shop.wait_for_records(  # every line parses as JSON, or this raises
        lambda rs: any(r.get("request_id") == request_id and r["message"] == "request" for r in rs)
    )
    assert all({"ts", "level", "message", "replica", "zone"} <= set(r) for r in records)
    mine = [r for r in records if r.get("request_id") == request_id]
    assert {r["message"] for r in mine} == {"order created", "request"}
    access = next(r for r in mine if r["message"] == "request")
    assert access["route"] == "/api/v1/orders" and access["status"] == 201
    # Lines written outside any request carry no id; none carries someone else's.
    assert any(r["request_id"] is None and r["message"] == "started" for r in records)


def test_metrics_expose_the_named_families(client: httpx.Client) -> None:
    client.get("/api/v1/products/1")
    client.get("/api/v1/products/1")
    text = client.get("/metrics").text
    for family in (
        "shop_http_requests_total",
        "shop_http_request_duration_seconds_bucket",
        "shop_http_requests_in_flight",
        "shop_db_pool_connections",
        "shop_db_pool_max_connections",
        "shop_cache_requests_total",
        "shop_cache_breaker_state",
        "shop_orders_created_total",
        "shop_dependency_errors_total",
        "shop_ready",
        "shop_build_info",
    ):
        assert f"\n{family}" in text, family
    assert (
        'shop_http_requests_total{method="GET",route="/api/v1/products/{product_id}",status="200"}'
        in text
    )
    assert 'shop_cache_requests_total{result="hit"}' in text
    assert 'le="0.3"' in text


def test_log_lines_are_counted_by_level(shop: ShopProcess, client: httpx.Client) -> None:
    client.get("/api/v1/categories")
    records = shop.records()
    # Counting starts with the application ("started"); the migration lines before it are not served.
    started = next(i for i, r in enumerate(records) if r.get("message") == "started")
    written = sum(1 for r in records[started:] if r.get("level") == "info")
    text = client.get("/metrics").text
    counted = {
        line.split('level="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("shop_log_messages_total{")
    }
    assert set(counted) >= {"info", "warning", "error", "critical"}, counted
    assert counted["info"] >= written > 0, (counted, written)
