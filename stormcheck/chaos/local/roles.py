"""Members named by what they are now, not by name: the PostgreSQL primary, the Redis master.

A fault aimed at ``postgres-primary`` or ``redis-master`` hits whichever member holds that role
when the fault is injected (Patroni's leader, the master the Sentinels agree on); the journal
records the member it was, so a replay hits the same one by name.
"""

from collections.abc import Callable

import httpx

from stormcheck.chaos.context import RunHandle
from stormcheck.errors import PlatformError

__all__ = ["DYNAMIC_MEMBERS", "postgres_primary", "redis_master", "resolve"]


def postgres_primary(handle: RunHandle) -> str:
    """The Patroni member that leads now (:class:`PlatformError` when none answers or leads)."""
    manifest = handle.manifest()
    for name, record in manifest.components.items():
        if record.role != "patroni":
            continue
        try:
            cluster = httpx.get(manifest.endpoint(name, "patroni") + "/cluster", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            continue  # this member is down: ask the next
        leaders = [m["name"] for m in cluster.get("members", []) if m.get("role") == "leader"]
        if len(leaders) == 1:
            return str(leaders[0])
    raise PlatformError(f"run {manifest.run_id}: no Patroni member leads (or none answered)")


def redis_master(handle: RunHandle) -> str:
    """The Redis node the Sentinels agree is master (:class:`PlatformError` otherwise)."""
    import redis

    from stormcheck.local.readiness import SENTINEL_MASTER_NAME

    manifest = handle.manifest()
    by_address = {r.address: n for n, r in manifest.components.items() if r.role == "redis-node"}
    named: set[str] = set()
    for name, record in manifest.components.items():
        if record.role != "sentinel":
            continue
        try:
            client = redis.Redis.from_url(manifest.endpoint(name, "sentinel"), socket_timeout=2)
            answer = client.sentinel_get_master_addr_by_name(SENTINEL_MASTER_NAME)
        except redis.RedisError:
            continue
        if isinstance(answer, tuple | list) and answer:
            host = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
            named.add(by_address.get(host, host))
    if len(named) != 1 or next(iter(named)) not in manifest.components:
        raise PlatformError(
            f"run {manifest.run_id}: the Sentinels do not agree on a master ({sorted(named)})"
        )
    return named.pop()


DYNAMIC_MEMBERS: dict[str, Callable[[RunHandle], str]] = {
    "postgres-primary": postgres_primary,
    "redis-master": redis_master,
}


def resolve(handle: RunHandle, name: str) -> str:
    """``name`` itself, or the member that holds the role it names now."""
    find = DYNAMIC_MEMBERS.get(name)
    return find(handle) if find is not None else name
