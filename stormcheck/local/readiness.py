"""Readiness checks of the local platform's components: real checks, never a sleep.

Each check gets the component's endpoints (name → URL on 127.0.0.1) and raises
:class:`~stormcheck.errors.NotReadyError` with the reason while the component is not ready: a SQL
query, a PING, an HTTP endpoint, or a role the component reports about itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

from stormcheck.errors import NotReadyError
from stormcheck.local.component import ReadyCheck

__all__ = [
    "SENTINEL_MASTER_NAME",
    "all_of",
    "backend_states",
    "etcd_cluster_ready",
    "http_ready",
    "postgres_ready",
    "redis_ready",
    "redis_role_ready",
    "sentinel_ready",
    "sql_ready",
]

SENTINEL_MASTER_NAME = "shop"


def sql_ready(endpoint: str, *, writable: bool | None = None) -> ReadyCheck:
    """``select 1`` answers; with ``writable``, the server is (or is not) out of recovery."""

    def check(endpoints: Mapping[str, str]) -> None:
        import psycopg

        try:
            with psycopg.connect(endpoints[endpoint], connect_timeout=2) as conn:
                row = conn.execute("select pg_is_in_recovery()").fetchone()
        except psycopg.Error as exc:
            raise NotReadyError(f"select failed: {str(exc).strip()}") from exc
        if writable is not None and row is not None and row[0] == writable:
            raise NotReadyError(f"pg_is_in_recovery() is {row[0]}: not the primary")

    return check


def postgres_ready(endpoints: Mapping[str, str]) -> None:
    import psycopg

    try:
        with psycopg.connect(endpoints["postgres"], connect_timeout=2) as conn:
            conn.execute("select 1").fetchone()
    except psycopg.Error as exc:
        raise NotReadyError(f"select 1 failed: {str(exc).strip()}") from exc


def _redis_info(url: str) -> dict[str, object]:
    import redis

    try:
        return dict(redis.Redis.from_url(url, socket_timeout=2).info("replication"))
    except redis.RedisError as exc:
        raise NotReadyError(f"INFO replication failed: {exc}") from exc


def redis_ready(endpoints: Mapping[str, str]) -> None:
    import redis

    try:
        if not redis.Redis.from_url(endpoints["redis"], socket_timeout=2).ping():
            raise NotReadyError("PING got no PONG")
    except redis.RedisError as exc:
        raise NotReadyError(f"PING failed: {exc}") from exc


def redis_role_ready(endpoint: str, role: str) -> ReadyCheck:
    """The node reports ``role`` (``master``, or ``slave`` with its link to the master up)."""

    def check(endpoints: Mapping[str, str]) -> None:
        info = _redis_info(endpoints[endpoint])
        if info.get("role") != role:
            raise NotReadyError(f"role is {info.get('role')}, want {role}")
        if role == "slave" and info.get("master_link_status") != "up":
            raise NotReadyError(f"link to the master is {info.get('master_link_status')}")

    return check


def sentinel_ready(*, peers: int) -> ReadyCheck:
    """The Sentinel names a master and knows ``peers`` other Sentinels (then the quorum holds)."""

    def check(endpoints: Mapping[str, str]) -> None:
        import redis

        try:
            client = redis.Redis.from_url(endpoints["sentinel"], socket_timeout=2)
            master = client.sentinel_get_master_addr_by_name(
                SENTINEL_MASTER_NAME, return_responses=True
            )
            if not master:
                raise NotReadyError(f"no master known for {SENTINEL_MASTER_NAME}")
            if peers:
                known = client.sentinel_sentinels(SENTINEL_MASTER_NAME, return_responses=True)
                count = len(known) if isinstance(known, list) else 0
                if count < peers:
                    raise NotReadyError(f"knows {count} other Sentinel(s), want {peers}")
                client.sentinel_ckquorum(SENTINEL_MASTER_NAME)
        except redis.RedisError as exc:
            raise NotReadyError(f"SENTINEL query failed: {exc}") from exc

    return check


def _get(url: str) -> requests.Response:
    try:
        return requests.get(url, timeout=2)
    except requests.RequestException as exc:
        raise NotReadyError(f"GET {url} failed: {exc}") from exc


def http_ready(endpoint: str, path: str) -> ReadyCheck:
    def check(endpoints: Mapping[str, str]) -> None:
        answer = _get(endpoints[endpoint] + path)
        if answer.status_code != 200:
            raise NotReadyError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")

    return check


def etcd_cluster_ready(endpoints: Mapping[str, str]) -> None:
    answer = _get(endpoints["etcd"] + "/health")
    if answer.status_code != 200 or answer.json().get("health") != "true":
        raise NotReadyError(f"GET /health answered {answer.status_code}: {answer.text[:200]}")


def all_of(*checks: ReadyCheck) -> ReadyCheck:
    def check(endpoints: Mapping[str, str]) -> None:
        for one in checks:
            one(endpoints)

    return check


def backend_states(endpoint: str, backend: str, want: Mapping[str, str]) -> ReadyCheck:
    """HAProxy's stats CSV shows each server of ``backend`` in the wanted state (UP or DOWN)."""

    def check(endpoints: Mapping[str, str]) -> None:
        answer = _get(endpoints[endpoint] + "/stats;csv")
        status = {}
        for line in answer.text.splitlines():
            cells = line.split(",")
            if len(cells) > 17 and cells[0] == backend:
                status[cells[1]] = cells[17]
        wrong = {s: status.get(s, "missing") for s, w in want.items() if status.get(s) != w}
        if wrong:
            raise NotReadyError(f"{backend}: want {dict(want)}, found {wrong}")

    return check


def redis_member_ready(endpoints: Mapping[str, str]) -> None:
    """A Redis node in either role: a master answering, or a replica whose link is up."""
    info = _redis_info(endpoints["redis"])
    if info.get("role") == "slave" and info.get("master_link_status") != "up":
        raise NotReadyError(f"replica, link to its master {info.get('master_link_status')}")
