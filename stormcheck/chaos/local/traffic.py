"""Traffic as a fault: a bounded burst of requests from one client, e.g. above the ingress's rate
limit.

An action like those in :mod:`stormcheck.chaos.local.actions`, but one that changes nothing that
outlives it: the burst ends by itself (bounded in rate, duration and request count), so it has no
ledger entry and no rollback. It is aimed only at the run's own published endpoints, which listen
on the loopback address; any other address is refused.

Written without ``from __future__ import annotations`` so that chaoslib's discovery reads real
types; every parameter is positional-or-keyword.
"""

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from stormcheck.chaos.context import open_run
from stormcheck.chaos.local.actions import FaultInputError
from stormcheck.local.network_client import burst_from_network

__all__ = ["burst", "burst_in_network"]

Configuration = Mapping[str, Any] | None
MAX_RATE = 2000.0  # requests per second
MAX_DURATION_S = 60.0
MAX_CONCURRENCY = 512
_TIMEOUT_S = 5.0


def _bounded(name: str, value: Any, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise FaultInputError(f"{name}: expected a number in (0, {upper:g}], got {value!r}")
    return float(value)


def _loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise FaultInputError(f"burst: {url} is not on this machine's loopback address")


async def _send(url: str, rate: float, duration_s: float, concurrency: int) -> Counter[str]:
    total = int(rate * duration_s)
    counts: Counter[str] = Counter()
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=_TIMEOUT_S) as client:

        async def one() -> None:
            try:
                response = await client.get(url)
                counts[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                counts[type(exc).__name__] += 1
            finally:
                slots.release()

        started = time.monotonic()
        tasks = []
        for index in range(total):
            if time.monotonic() - started >= duration_s:
                break  # in-flight requests held the schedule back: the burst still ends on time
            # open model: each request at its scheduled time, whatever the answers do
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return counts


def burst(
    path: str = "/api/v1/products",
    rate: float = 400.0,
    duration_s: float = 10.0,
    concurrency: int = 32,
    component: str = "ingress",
    endpoint: str = "api",
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Send ``rate`` GET requests per second to ``path`` on the run's ``component`` for
    ``duration_s`` seconds from one client (at most ``concurrency`` in flight), and return how
    they were answered: ``{"statuses": {"200": n, "429": m, ...}, "server_errors": k, ...}``.

    Bounded: at most 2000 requests per second, 60 s and 512 in flight; only the run's own
    endpoint on the loopback address is a target.
    """
    per_second = _bounded("rate", rate, MAX_RATE)
    seconds = _bounded("duration_s", duration_s, MAX_DURATION_S)
    in_flight = int(_bounded("concurrency", concurrency, MAX_CONCURRENCY))
    given: object = path  # YAML may hand over anything
    if not isinstance(given, str) or not given.startswith("/"):
        raise FaultInputError(f"path: expected a path starting with /, got {path!r}")
    handle = open_run(configuration)
    try:
        base = handle.manifest().endpoint(component, endpoint)
    finally:
        handle.close()
    _loopback(base)
    started = time.monotonic()
    counts = asyncio.run(_send(base + path, per_second, seconds, in_flight))
    elapsed = time.monotonic() - started
    sent = sum(counts.values())
    return {
        "action": "burst",
        "targets": [component],
        "url": base + path,
        "sent": sent,
        "seconds": round(elapsed, 3),
        "achieved_rate": round(sent / elapsed, 1) if elapsed else 0.0,
        "statuses": dict(sorted(counts.items())),
        "server_errors": sum(n for s, n in counts.items() if s.startswith("5")),
    }


def burst_in_network(
    path: str = "/api/v1/products",
    clients: int = 16,
    requests_each: int = 40,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Send ``clients`` x ``requests_each`` GET requests to ``path`` through the run's ingress
    from a short-lived client container inside the run's network — an address the ingress does
    not exempt from its per-client rate limit (the load generator on the host is exempt) — and
    return how they were answered: ``{"statuses": {"200": n, "429": m}, "server_errors": k}``.

    Bounded: at most 64 clients x 200 requests; the container is removed when it is done.
    """
    count = int(_bounded("clients", clients, 64))
    each = int(_bounded("requests_each", requests_each, 200))
    given: object = path  # YAML may hand over anything
    if not isinstance(given, str) or not given.startswith("/"):
        raise FaultInputError(f"path: expected a path starting with /, got {path!r}")
    handle = open_run(configuration)
    try:
        spike = burst_from_network(
            handle.client,
            handle.manifest(),
            f"http://ingress:8080{path}",
            clients=count,
            requests_each=each,
        )
    finally:
        handle.close()
    statuses = {str(code): n for code, n in sorted(spike.codes.items())}
    return {
        "action": "burst_in_network",
        "targets": ["ingress"],
        "client_address": spike.address,
        "sent": sum(spike.codes.values()),
        "statuses": statuses,
        "server_errors": sum(n for code, n in spike.codes.items() if code >= 500),
    }
