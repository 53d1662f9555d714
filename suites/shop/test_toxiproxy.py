"""The Toxiproxy client against a real server: a toxic really changes what crosses the proxy."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
import redis

from stormcheck.clients.toxiproxy import ToxiproxyClient
from stormcheck.errors import BackendError

pytestmark = pytest.mark.integration

LATENCY_MS = 200


def _ping_seconds(client: redis.Redis) -> float:
    started = time.perf_counter()
    assert client.ping()
    return time.perf_counter() - started


def test_a_latency_toxic_delays_redis_through_the_proxy(
    toxiproxy: ToxiproxyClient, redis_url: str
) -> None:
    parts = urlsplit(redis_url)
    name = f"redis-{uuid.uuid4().hex[:8]}"
    proxy = toxiproxy.create_proxy(name, upstream=f"{parts.hostname}:{parts.port}")
    assert proxy.enabled and proxy.port > 0 and proxy.toxics == ()
    with redis.Redis(host=proxy.host, port=proxy.port, socket_timeout=5) as client:
        assert _ping_seconds(client) < LATENCY_MS / 1000 / 2  # fast before the toxic

        toxic = toxiproxy.add_toxic(name, "latency", {"latency": LATENCY_MS, "jitter": 0})
        assert toxiproxy.get_proxy(name).toxics == (toxic,)
        # The toxic applies to the connection opened before it, too.
        assert _ping_seconds(client) >= LATENCY_MS / 1000

        toxiproxy.remove_toxic(name, toxic.name)
        assert _ping_seconds(client) < LATENCY_MS / 1000 / 2


def test_errors_name_the_server_and_the_operation(toxiproxy: ToxiproxyClient) -> None:
    with pytest.raises(BackendError, match=r"127\.0\.0\.1:\d+: get proxy 'no-such-proxy'.*404"):
        toxiproxy.get_proxy("no-such-proxy")
    unreachable = ToxiproxyClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(BackendError, match=r"http://127\.0\.0\.1:9: reset failed: ConnectError"):
        unreachable.reset()
    unreachable.close()
