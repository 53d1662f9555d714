"""Dependency failures and shutdown: readiness, the Redis circuit breaker, SIGTERM.

The shop reaches PostgreSQL and Redis through Toxiproxy (as on the local platform, design §3),
so these tests break the path between the service and the shared backends without touching
the backends' containers (a restarted container would come back on another host port):
- stopped: the proxy is disabled — new connections are refused, open ones reset;
- blackholed: a ``timeout`` toxic with ``timeout: 0`` both ways — connections open, but no
  byte ever arrives (what a dropped route or a frozen host looks like).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis

from stormcheck.clients.toxiproxy import Proxy, ToxiproxyClient
from suites.shop.databases import with_host_port
from suites.shop.shop_process import ShopProcess, migrated_database

pytestmark = pytest.mark.integration

# Catalogue reads of every kind: details, category list, a filtered page, a search.
CATALOGUE = [f"/api/v1/products/{pid}" for pid in range(200, 240)] + [
    "/api/v1/categories",
    "/api/v1/products?page=3&page_size=20",
    "/api/v1/products?category=garden&page_size=20",
    "/api/v1/products?q=lamp",
]
ROUNDS = 3
CACHE_DB = 7  # the catalogue-cache tests' own Redis database (the shop's default is 0)


@pytest.fixture(scope="module")
def database(shop_python: str, postgres_dsn: str, redis_url: str) -> Iterator[str]:
    with migrated_database(shop_python, postgres_dsn, redis_url) as dsn:
        yield dsn


@pytest.fixture
def cache_redis(redis_url: str) -> str:
    """A Redis database of this test's own, emptied: the shared one holds other tests' catalogue
    entries under the same keys, and one of them expiring mid-test is a miss the test did not
    cause."""
    url = urlsplit(redis_url)._replace(path=f"/{CACHE_DB}").geturl()
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


def _proxy_to(toxiproxy: ToxiproxyClient, url: str, role: str) -> Proxy:
    parts = urlsplit(url)
    return toxiproxy.create_proxy(
        f"{role}-{uuid.uuid4().hex[:8]}", upstream=f"{parts.hostname}:{parts.port}"
    )


def _via(url: str, proxy: Proxy) -> str:
    return with_host_port(url, proxy.host, proxy.port)


def _poll(check: Callable[[], bool], timeout: float) -> bool:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if check():
            return True
        time.sleep(0.1)
    return False


def _metric(client: httpx.Client, sample: str) -> float:
    """One sample of the shop's /metrics (0 when the series does not exist yet)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


BREAKER = "shop_cache_breaker_state"
CACHE_HITS = 'shop_cache_requests_total{result="hit"}'


def _timed(client: httpx.Client, paths: list[str]) -> tuple[list[float], list[str]]:
    """Each request's duration, and a description of every response that was not a 200."""
    timings, failures = [], []
    for path in paths:
        started = time.perf_counter()
        try:
            response = client.get(path)
        except httpx.HTTPError as exc:
            failures.append(f"{path}: {type(exc).__name__}")
            continue
        finally:
            timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            failures.append(f"{path}: {response.status_code} {response.text[:120]}")
    return timings, failures


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1]


def test_readiness_follows_postgres_reachability(
    shop_python: str, database: str, redis_url: str, toxiproxy: ToxiproxyClient
) -> None:
    proxy = _proxy_to(toxiproxy, database, "postgres")
    env = {"SHOP_DB_POOL_TIMEOUT_SECONDS": "1", "SHOP_READY_TIMEOUT_SECONDS": "1"}
    with (
        ShopProcess(shop_python, _via(database, proxy), redis_url, **env) as shop,
        httpx.Client(base_url=shop.url, timeout=10) as client,
    ):
        assert client.get("/ready").status_code == 200
        toxiproxy.disable(proxy.name)
        assert _poll(lambda: client.get("/ready").status_code == 503, 10)
        report = client.get("/ready").json()
        assert report["ready"] is False and report["checks"]["database"]["ok"] is False
        assert client.get("/health").status_code == 200  # alive, just not ready

        started = time.monotonic()
        failed = client.get("/api/v1/orders/1")
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "dependency_unavailable"
        assert time.monotonic() - started < 5, "a dead database must fail fast, not hang"

        toxiproxy.enable(proxy.name)
        assert _poll(lambda: client.get("/ready").status_code == 200, 20)
        assert client.get("/api/v1/orders/1").status_code == 404  # served by the database again
        assert _metric(client, 'shop_dependency_errors_total{dependency="postgres",kind="timeout"}')


def _stop(toxiproxy: ToxiproxyClient, proxy: Proxy) -> Callable[[], None]:
    toxiproxy.disable(proxy.name)

    def heal() -> None:
        toxiproxy.enable(proxy.name)

    return heal


def _blackhole(toxiproxy: ToxiproxyClient, proxy: Proxy) -> Callable[[], None]:
    for stream in ("upstream", "downstream"):
        toxiproxy.add_toxic(proxy.name, "timeout", {"timeout": 0}, stream=stream)

    def heal() -> None:
        for stream in ("upstream", "downstream"):
            toxiproxy.remove_toxic(proxy.name, f"timeout_{stream}")

    return heal


FAULTS = {"stopped": (_stop, "error"), "blackholed": (_blackhole, "timeout")}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_redis_fault_never_fails_the_catalogue_and_keeps_it_fast(
    fault: str, shop_python: str, database: str, cache_redis: str, toxiproxy: ToxiproxyClient
) -> None:
    inject, error_kind = FAULTS[fault]
    proxy = _proxy_to(toxiproxy, cache_redis, "redis")
    with (
        ShopProcess(shop_python, database, _via(cache_redis, proxy)) as shop,
        httpx.Client(base_url=shop.url, timeout=10) as client,
    ):
        _, failures = _timed(client, CATALOGUE)  # fill the cache
        hits_before = _metric(client, CACHE_HITS)
        warm, more_failures = _timed(client, CATALOGUE * ROUNDS)
        failures += more_failures
        # Every warm read is a cache hit, or "warm" would measure the database path too.
        assert _metric(client, CACHE_HITS) - hits_before == len(CATALOGUE) * ROUNDS

        heal = inject(toxiproxy, proxy)
        # Until the breaker opens, reads wait for Redis' timeout or error, but none may fail.
        opening: list[float] = []

        def breaker_open() -> bool:
            timings, errors = _timed(client, CATALOGUE[:4])
            opening.extend(timings)
            failures.extend(errors)
            return _metric(client, BREAKER) == 1.0

        assert _poll(breaker_open, 30), f"breaker never opened after Redis was {fault}"
        degraded, more_failures = _timed(client, CATALOGUE * ROUNDS)
        failures += more_failures
        assert failures == [], f"catalogue requests failed with Redis {fault}: {failures}"
        warm_p95, degraded_p95 = _p95(warm), _p95(degraded)
        assert degraded_p95 <= 2 * warm_p95 + 0.050, (
            f"Redis {fault}: catalogue p95 {degraded_p95 * 1000:.1f} ms with the breaker open >"
            f" 2 x warm p95 {warm_p95 * 1000:.1f} ms + 50 ms"
            f" (slowest while opening: {max(opening) * 1000:.0f} ms)"
        )
        assert _metric(client, 'shop_cache_requests_total{result="bypass"}') > 0
        assert _metric(
            client, f'shop_dependency_errors_total{{dependency="redis",kind="{error_kind}"}}'
        )
        # The cart has no fallback: it fails fast and says why; readiness ignores the cache.
        started = time.monotonic()
        cart = client.get("/api/v1/carts/abc")
        assert cart.status_code == 503, cart.text
        assert cart.json()["error"]["code"] == "dependency_unavailable"
        assert time.monotonic() - started < 1
        ready = client.get("/ready")
        assert ready.status_code == 200, "Redis is not required for readiness"
        assert ready.json()["checks"]["cache"]["ok"] is False

        heal()
        # The breaker's trial call after its reset period (5 s) closes it again.
        assert _poll(
            lambda: client.get(CATALOGUE[0]).status_code == 200 and _metric(client, BREAKER) == 0.0,
            15,
        ), f"breaker did not close after Redis came back from {fault}"
        assert client.get("/api/v1/carts/abc").status_code == 200
        hits_before = _metric(client, CACHE_HITS)
        client.get(CATALOGUE[1])
        client.get(CATALOGUE[1])
        assert _metric(client, CACHE_HITS) > hits_before, "the cache serves reads again"


def _sleeping_backends(dsn: str, replica: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND query LIKE '%%pg_sleep%%' AND state = 'active'",
            (f"shop-{replica}",),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_sigterm_finishes_the_slow_request_and_turns_unready(
    shop_python: str, database: str, redis_url: str
) -> None:
    env = {
        "SHOP_DEBUG_ENDPOINTS": "1",
        "SHOP_DRAIN_SECONDS": "1",
        "SHOP_SHUTDOWN_TIMEOUT_SECONDS": "10",
        "SHOP_DB_STATEMENT_TIMEOUT_MS": "10000",
    }
    shop = ShopProcess(shop_python, database, redis_url, **env).start()
    try:
        result: dict[str, httpx.Response] = {}

        def slow_request() -> None:
            result["slow"] = httpx.get(shop.url + "/debug/sleep", params={"seconds": 3}, timeout=20)

        worker = threading.Thread(target=slow_request)
        worker.start()
        replica = shop.env["SHOP_REPLICA"]
        assert _poll(lambda: _sleeping_backends(database, replica) == 1, 5), (
            "the slow request never reached the database"
        )
        shop.terminate()
        assert _poll(lambda: httpx.get(shop.url + "/ready", timeout=5).status_code == 503, 2)
        assert httpx.get(shop.url + "/ready", timeout=5).json()["draining"] is True
        worker.join(20)
        assert result["slow"].status_code == 200
        assert result["slow"].json() == {"slept_seconds": 3.0}
        assert shop.wait(15) == 0
        messages = [r["message"] for r in shop.records()]
        assert "draining: readiness is now false" in messages
        assert messages.index("drain period over, stopping") < messages.index("pools closed")
        with pytest.raises(httpx.ConnectError):
            httpx.get(shop.url + "/health", timeout=2)
    finally:
        shop.stop()
