"""Helpers for the full stack's failover tests: where members are now, who accepts writes, and
polling an API write until it succeeds again.

A container that is killed and started again gets new random host ports, so endpoints are read
from Docker, not from the run file, whenever a member may have restarted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from docker import DockerClient

from stormcheck.runs import Manifest

__all__ = [
    "PATRONI_MEMBERS",
    "REDIS_NODES",
    "WriterProbe",
    "backend_status",
    "cart_write",
    "current_endpoint",
    "order_write",
    "patroni_role",
    "poll_until",
    "redis_master_ip",
    "redis_role",
    "writable_members",
]

PATRONI_MEMBERS = ("pg-1", "pg-2")
REDIS_NODES = ("redis-1", "redis-2")


def current_endpoint(
    client: DockerClient, manifest: Manifest, component: str, name: str, port: int
) -> str | None:
    """``component``'s endpoint ``name`` with the host port Docker publishes now (None: none)."""
    container = client.containers.get(manifest.container(component))
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp") or []
    if container.status != "running" or not bindings:
        return None
    parts = urlsplit(manifest.endpoint(component, name))
    netloc = parts.netloc.rsplit(":", 1)[0] + ":" + bindings[0]["HostPort"]
    return urlunsplit(parts._replace(netloc=netloc))


def container_ip(client: DockerClient, manifest: Manifest, component: str) -> str | None:
    """The member's address on the run's network (None while it is not running)."""
    container = client.containers.get(manifest.container(component))
    network = (container.attrs["NetworkSettings"]["Networks"] or {}).get(manifest.network or "")
    return (network or {}).get("IPAddress") or None


def patroni_role(client: DockerClient, manifest: Manifest, member: str) -> str | None:
    """What the member's Patroni REST API says it is (``primary``/``replica``), None if silent."""
    url = current_endpoint(client, manifest, member, "patroni", 8008)
    if url is None:
        return None
    try:
        state = requests.get(url + "/patroni", timeout=1).json()
    except (requests.RequestException, ValueError):
        return None
    if state.get("state") != "running":
        return None
    role = state.get("role")
    return "primary" if role in ("master", "primary") else str(role)


def _accepts_writes(dsn: str | None) -> bool:
    if dsn is None:
        return False
    try:
        with psycopg.connect(dsn, connect_timeout=1) as conn:
            conn.execute("set statement_timeout = 1000")
            # assigning a transaction id is what a standby refuses; it writes nothing
            conn.execute("select txid_current()").fetchone()
    except psycopg.Error:
        return False
    return True


def writable_members(client: DockerClient, manifest: Manifest) -> frozenset[str]:
    """The Patroni members that accept a write right now, each tried directly (not via HAProxy)."""
    dsns = {m: current_endpoint(client, manifest, m, "postgres", 5432) for m in PATRONI_MEMBERS}
    with ThreadPoolExecutor(len(dsns)) as pool:
        verdicts = dict(zip(dsns, pool.map(_accepts_writes, dsns.values()), strict=True))
    return frozenset(m for m, ok in verdicts.items() if ok)


@dataclass
class WriterProbe:
    """Rounds of :func:`writable_members`: (monotonic time, members accepting writes)."""

    rounds: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    routed: list[dict[str, str]] = field(default_factory=list)

    def sample(self, client: DockerClient, manifest: Manifest) -> frozenset[str]:
        """Probe every member once and keep the round, with the router's view of the members."""
        found = writable_members(client, manifest)
        self.rounds.append((time.monotonic(), found))
        stats = manifest.endpoint("dbproxy", "stats")
        self.routed.append(backend_status(stats, "postgres"))
        return found

    def split_brain(self) -> list[tuple[float, frozenset[str]]]:
        """The rounds in which more than one member accepted writes."""
        return [r for r in self.rounds if len(r[1]) > 1]


def backend_status(stats_url: str, backend: str) -> dict[str, str]:
    """Each server of an HAProxy backend and its state (``UP``, ``DOWN``, ``UP 1/2``...)."""
    try:
        text = requests.get(stats_url + "/stats;csv", timeout=1).text
    except requests.RequestException:
        return {}
    rows = (line.split(",") for line in text.splitlines())
    return {
        r[1]: r[17]
        for r in rows
        if len(r) > 17 and r[0] == backend and r[1] not in ("FRONTEND", "BACKEND")
    }


def redis_role(url: str | None) -> dict[str, object]:
    """``INFO replication`` of a node ({} when it does not answer)."""
    if url is None:
        return {}
    try:
        return dict(redis.Redis.from_url(url, socket_timeout=1).info("replication"))
    except redis.RedisError:
        return {}


def redis_master_ip(sentinel_url: str) -> str:
    """The master's address as the Sentinel names it."""
    client = redis.Redis.from_url(sentinel_url, socket_timeout=2, decode_responses=True)
    answer = client.sentinel_get_master_addr_by_name("shop", return_responses=True)
    if not isinstance(answer, tuple):
        raise AssertionError(f"the Sentinel names no master: {answer!r}")
    return str(answer[0])


def order_write(api: str) -> str:
    """One checkout through the API (a PostgreSQL write): the status code, or the error's name."""
    try:
        answer = requests.post(
            api + "/api/v1/orders",
            json={"items": [{"product_id": 1, "quantity": 1}]},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=3,
        )
    except requests.RequestException as exc:
        return type(exc).__name__
    return str(answer.status_code)


def cart_write(api: str, cart: str, quantity: int) -> str:
    """One cart update through the API (a Redis write): the status code, or the error's name."""
    try:
        answer = requests.put(
            f"{api}/api/v1/carts/{cart}/items/1", json={"quantity": quantity}, timeout=3
        )
    except requests.RequestException as exc:
        return type(exc).__name__
    return str(answer.status_code)


def poll_until(
    attempt: Callable[[], str], success: str, *, timeout_s: float, every_s: float = 0.2
) -> tuple[float | None, dict[str, int]]:
    """Call ``attempt`` until it returns ``success``: (seconds it took or None, outcome counts)."""
    started = time.monotonic()
    seen: dict[str, int] = {}
    while time.monotonic() - started < timeout_s:
        outcome = attempt()
        seen[outcome] = seen.get(outcome, 0) + 1
        if outcome == success:
            return time.monotonic() - started, seen
        time.sleep(every_s)
    return None, seen
