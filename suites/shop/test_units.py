"""Pure parts of the shop: breaker, settings, checkout validation, JSON log lines.

Only modules whose dependencies the test environment already has (psycopg, redis,
prometheus-client) are imported here; the rest is covered by the integration tests.
"""

from __future__ import annotations

import json
import logging

import pytest

import suites.shop.shop_import  # noqa: F401 - puts platform/shop/src on sys.path

# isort: split
from shop.breaker import BreakerState, CircuitBreaker
from shop.checkout import merge_lines, parse_checkout, validate_idempotency_key
from shop.errors import ApiError
from shop.logs import JsonFormatter, request_id_var
from shop.settings import ConfigError, load_settings

pytestmark = pytest.mark.unit


def _state(breaker: CircuitBreaker) -> BreakerState:
    # A call, not the property, so that type checkers do not narrow it between calls.
    return breaker.state


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_threshold_and_half_opens_after_reset() -> None:
    clock = FakeClock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(3, 5.0, clock=clock, on_change=changes.append)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert _state(breaker) is BreakerState.CLOSED
    breaker.record_failure()
    assert _state(breaker) is BreakerState.OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow(), "one trial call after the reset period"
    assert _state(breaker) is BreakerState.HALF_OPEN
    assert not breaker.allow(), "only one trial at a time"
    breaker.record_failure()
    assert _state(breaker) is BreakerState.OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_success()
    assert _state(breaker) is BreakerState.CLOSED and breaker.allow()
    assert changes == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_breaker_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(2, 1.0, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert _state(breaker) is BreakerState.CLOSED


def test_settings_require_urls_and_validate_numbers() -> None:
    base = {"SHOP_DATABASE_URL": "postgresql://db/shop", "SHOP_REDIS_URL": "redis://cache:6379/0"}
    settings = load_settings({**base, "SHOP_REPLICA": "r1", "SHOP_ZONE": "b", "SHOP_MIGRATE": "0"})
    assert (settings.replica, settings.zone, settings.migrate, settings.port) == (
        "r1",
        "b",
        False,
        8080,
    )
    with pytest.raises(ConfigError, match="SHOP_DATABASE_URL"):
        load_settings({"SHOP_REDIS_URL": "redis://x"})
    with pytest.raises(ConfigError, match="SHOP_PORT"):
        load_settings({**base, "SHOP_PORT": "eighty"})
    with pytest.raises(ConfigError, match="SHOP_DB_POOL_MAX"):
        load_settings({**base, "SHOP_DB_POOL_MIN": "5", "SHOP_DB_POOL_MAX": "2"})
    with pytest.raises(ConfigError, match="SHOP_MIGRATE"):
        load_settings({**base, "SHOP_MIGRATE": "maybe"})


def test_checkout_fingerprint_ignores_formatting_but_not_content() -> None:
    a = parse_checkout(json.loads('{"items": [{"product_id": 1, "quantity": 2}]}'))
    b = parse_checkout(json.loads('{ "items":[ {"quantity":2,"product_id":1} ] }'))
    c = parse_checkout({"items": [{"product_id": 1, "quantity": 3}]})
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.items == ((1, 2),)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"items": []},
        {"items": [{"product_id": 1, "quantity": 0}]},
        {"items": [{"product_id": 1, "quantity": -1}]},
        {"items": [{"product_id": 1, "quantity": True}]},
        {"items": [{"product_id": "1", "quantity": 1}]},
        {"items": [{"product_id": 1}]},
        {"items": [{"product_id": 1, "quantity": 1}], "cart_id": "c"},
        {"cart_id": "../etc"},
        {"items": [{"product_id": 1, "quantity": 1}], "coupon": "X"},
    ],
)
def test_checkout_rejects_invalid_bodies(body: object) -> None:
    with pytest.raises(ApiError) as caught:
        parse_checkout(body)
    assert 400 <= caught.value.status < 500


def test_repeated_products_are_merged() -> None:
    assert merge_lines([(3, 1), (1, 2), (3, 4)]) == ((1, 2), (3, 5))


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 256, "é"])
def test_invalid_idempotency_keys_are_400(key: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        validate_idempotency_key(key)
    assert caught.value.status == 400


def test_json_log_line_carries_request_id_and_extras() -> None:
    formatter = JsonFormatter({"service": "shop", "replica": "r1", "zone": "a"})
    record = logging.makeLogRecord(
        {
            "name": "shop.x",
            "levelname": "INFO",
            "msg": "hello %s",
            "args": ("world",),
            "order_id": 7,
        }
    )
    token = request_id_var.set("rid-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello world"
    assert (line["request_id"], line["replica"], line["zone"], line["order_id"]) == (
        "rid-1",
        "r1",
        "a",
        7,
    )
    assert line["ts"].endswith("+00:00")
    assert json.loads(formatter.format(record))["request_id"] is None
