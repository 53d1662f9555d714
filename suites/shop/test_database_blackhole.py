"""PostgreSQL blackholed: the link stays open, every byte either way is swallowed.

This is what a frozen database host, a dropped route behind an ACKing middlebox (HAProxy in
front of Patroni, a connection pooler) or a half-dead NAT looks like to the shop: TCP is happy,
so connect, keepalive and TCP_USER_TIMEOUT settings never fire, and PostgreSQL's own
``statement_timeout`` reply is swallowed too. The shop must notice on its own, within the budget
its settings promise, and must not keep the connections whose replies were lost.

The fault is a Toxiproxy ``timeout`` toxic with ``timeout: 0`` on both directions of the proxy the
shop uses for PostgreSQL (Redis is reached directly and keeps serving the catalogue cache).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from stormcheck.clients.toxiproxy import ToxiproxyClient
from suites.shop.databases import with_host_port
from suites.shop.shop_process import ShopProcess, migrated_database

pytestmark = pytest.mark.integration

# The shop's database budget (its defaults, given explicitly so the bounds below follow them).
POOL_TIMEOUT_S = 2.0
STATEMENT_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 1.0
SHOP_ENV = {
    "SHOP_DB_POOL_TIMEOUT_SECONDS": str(POOL_TIMEOUT_S),
    "SHOP_DB_STATEMENT_TIMEOUT_MS": str(int(STATEMENT_TIMEOUT_S * 1000)),
    "SHOP_READY_TIMEOUT_SECONDS": str(READY_TIMEOUT_S),
    "SHOP_DB_CONNECT_TIMEOUT_SECONDS": "3",
}
CONNECT_TIMEOUT_S = 3.0
# Scheduling slack on a shared 2-core machine, added once to every bound.
MARGIN_S = 1.0
# A request that needs PostgreSQL may wait for a pooled connection, then for one statement.
DB_REQUEST_BOUND_S = POOL_TIMEOUT_S + STATEMENT_TIMEOUT_S + 2 * MARGIN_S
READY_BOUND_S = READY_TIMEOUT_S + MARGIN_S
# Once the link heals the pool must reconnect: its retries back off from 1 s, doubling, so the
# next attempt is never further away than the time already spent failing (the outage), and then
# takes up to a connect timeout; a request waits one pool timeout for it.
RECOVERY_SLACK_S = CONNECT_TIMEOUT_S + POOL_TIMEOUT_S + MARGIN_S
# What "hang" means to this test's client: far beyond every bound above.
CLIENT_TIMEOUT_S = 15.0

CACHED = [f"/api/v1/products/{pid}" for pid in range(300, 320)] + [
    "/api/v1/categories",
    "/api/v1/products?page=2&page_size=20",
]
UNCACHED_IDS = range(1100, 1106)
CHECKOUTS = 6
DB_WORKERS = 3


@dataclass
class Sample:
    """One request's kind, outcome and duration (seconds)."""

    kind: str
    path: str
    status: int | str
    seconds: float


@dataclass
class Record:
    """Every request the test made, by kind, for the assertion messages."""

    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> Sample:
        with self.lock:
            self.samples.append(sample)
        return sample

    def of(self, kind: str) -> list[Sample]:
        with self.lock:
            return [s for s in self.samples if s.kind == kind]

    def summary(self) -> str:
        lines = []
        with self.lock:
            kinds = sorted({s.kind for s in self.samples})
        for kind in kinds:
            samples = self.of(kind)
            seconds = [s.seconds for s in samples]
            statuses: dict[str, int] = {}
            for s in samples:
                statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
            lines.append(
                f"{kind}: n={len(samples)} statuses={statuses}"
                f" median={statistics.median(seconds):.3f}s max={max(seconds):.3f}s"
            )
        return "\n".join(lines)


def _request(
    client: httpx.Client, record: Record, kind: str, method: str, path: str, **kw: object
) -> Sample:
    started = time.perf_counter()
    try:
        response = client.request(method, path, **kw)  # type: ignore[arg-type]
        status: int | str = response.status_code
        if status == 503 and path.startswith("/api/"):
            assert response.json()["error"]["code"] == "dependency_unavailable", response.text
    except httpx.TimeoutException:
        status = "hang"
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return record.add(Sample(kind, path, status, time.perf_counter() - started))


def _checkout(client: httpx.Client, record: Record, kind: str) -> Sample:
    return _request(
        client,
        record,
        kind,
        "POST",
        "/api/v1/orders",
        json={"items": [{"product_id": 7, "quantity": 1}]},
        headers={"Idempotency-Key": f"blackhole-{uuid.uuid4().hex}"},
    )


def _metric(client: httpx.Client, sample: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _until(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `check` held (polled every 0.1 s), or None if it never did in `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


@pytest.fixture(scope="module")
def database(shop_python: str, postgres_dsn: str, redis_url: str) -> Iterator[str]:
    with migrated_database(shop_python, postgres_dsn, redis_url) as dsn:
        yield dsn


def test_blackholed_database_fails_fast_keeps_cached_reads_and_recovers(
    shop_python: str, database: str, redis_url: str, toxiproxy: ToxiproxyClient
) -> None:
    parts = urlsplit(database)
    proxy = toxiproxy.create_proxy(
        f"postgres-{uuid.uuid4().hex[:8]}", upstream=f"{parts.hostname}:{parts.port}"
    )
    record = Record()
    with (
        ShopProcess(
            shop_python, with_host_port(database, proxy.host, proxy.port), redis_url, **SHOP_ENV
        ) as shop,
        httpx.Client(base_url=shop.url, timeout=CLIENT_TIMEOUT_S) as client,
        redis.Redis.from_url(redis_url) as cache,
    ):
        # Warm: cached reads are cache hits; the uncached products really are not in the cache.
        for path in CACHED * 2:
            assert client.get(path).status_code == 200, path
        cache.delete(*[f"shop:v1:product:{pid}" for pid in UNCACHED_IDS])
        assert _checkout(client, record, "checkout before").status == 201
        hits_before = _metric(client, 'shop_cache_requests_total{result="hit"}')

        for stream in ("upstream", "downstream"):
            toxiproxy.add_toxic(proxy.name, "timeout", {"timeout": 0}, stream=stream)
        blackholed_at = time.monotonic()

        # Requests that need PostgreSQL, a few at a time, while cached reads go on beside them.
        def needs_database(i: int) -> Sample:
            with httpx.Client(base_url=shop.url, timeout=CLIENT_TIMEOUT_S) as own:
                if i % 2:
                    return _checkout(own, record, "checkout")
                pid = UNCACHED_IDS[i // 2]
                return _request(own, record, "uncached product", "GET", f"/api/v1/products/{pid}")

        with ThreadPoolExecutor(DB_WORKERS) as pool:
            futures = [pool.submit(needs_database, i) for i in range(CHECKOUTS * 2)]
            while not all(f.done() for f in futures):
                for path in CACHED[:4]:
                    _request(client, record, "cached read", "GET", path)
                _request(client, record, "health", "GET", "/health")
                time.sleep(0.05)  # pacing: a trickle of reads, not a load test
            for future in futures:
                future.result()
        for _ in range(3):
            _request(client, record, "ready", "GET", "/ready")
        cached_hits = _metric(client, 'shop_cache_requests_total{result="hit"}') - hits_before
        blackhole_s = time.monotonic() - blackholed_at

        for stream in ("upstream", "downstream"):
            toxiproxy.remove_toxic(proxy.name, f"timeout_{stream}")

        def healthy() -> bool:
            ready = _request(client, record, "ready after heal", "GET", "/ready")
            order = _checkout(client, record, "checkout after heal")
            product = _request(
                client, record, "uncached after heal", "GET", f"/api/v1/products/{UNCACHED_IDS[0]}"
            )
            return ready.status == 200 and order.status == 201 and product.status == 200

        recovery_bound_s = blackhole_s + RECOVERY_SLACK_S
        recovered_s = _until(healthy, recovery_bound_s + CLIENT_TIMEOUT_S)
        report = (
            f"blackhole lasted {blackhole_s:.1f} s; recovered {recovered_s} s after the heal\n"
            f"{record.summary()}"
        )
        print(report)  # the timings per kind, kept in the test's captured output

        problems = []
        for kind, bound in (
            ("checkout", DB_REQUEST_BOUND_S),
            ("uncached product", DB_REQUEST_BOUND_S),
            ("ready", READY_BOUND_S),
        ):
            wanted = 503
            bad = [s for s in record.of(kind) if s.status != wanted or s.seconds > bound]
            if bad:
                problems.append(f"{kind}: want {wanted} within {bound:.1f} s, got {bad}")
        slow_cached = [s for s in record.of("cached read") if s.status != 200 or s.seconds > 0.5]
        if slow_cached:
            problems.append(f"cached reads not 200 within 0.5 s: {slow_cached[:5]}")
        if any(s.status != 200 for s in record.of("health")):
            problems.append(
                f"liveness failed: {[s for s in record.of('health') if s.status != 200]}"
            )
        if cached_hits < len(record.of("cached read")):
            problems.append(
                f"only {cached_hits:.0f} cache hits for {len(record.of('cached read'))} cached reads"
            )
        if recovered_s is None or recovered_s > recovery_bound_s:
            problems.append(
                f"not recovered within {recovery_bound_s:.1f} s of the heal: {recovered_s}"
            )
        # Toxiproxy closes the blackholed connections when the toxic goes, which would hide a
        # shop that keeps them: the shop must have dropped them itself, during the outage.
        overdue = [r for r in shop.records() if r["message"].startswith("database reply overdue")]
        if not overdue:
            problems.append("no connection was shut down for an overdue reply during the outage")
        timeouts = 'shop_dependency_errors_total{dependency="postgres",kind="timeout"}'
        if not _metric(client, timeouts):
            problems.append("the 503s were not counted as postgres timeouts")
        server_errors = [s for s in record.samples if s.status == 500]
        if server_errors:
            problems.append(f"500s: {server_errors}")
        assert not problems, "\n".join(problems) + "\n" + report
