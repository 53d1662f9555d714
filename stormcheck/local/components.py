"""The components of the local platform: what each runs, what it exposes, and when it is ready.

Readiness checks are real: a SQL query, a PING, an HTTP endpoint — never a sleep. The orchestration
work extends this registry with the shop API and the HA roles; the stack picks which components run.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import psycopg
import redis
import requests

from stormcheck.errors import ConfigError, NotReadyError

__all__ = ["STACK_COMPONENTS", "Component", "ReadyCheck", "components_for"]

# A readiness check gets the component's endpoints (name → URL on 127.0.0.1) and raises
# NotReadyError with the reason while the component is not ready.
ReadyCheck = Callable[[Mapping[str, str]], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One container of the platform."""

    name: str
    role: str
    zone: str
    ports: Mapping[int, tuple[str, str]]  # container port -> (endpoint name, URL template)
    ready: ReadyCheck
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()
    cpus: float = 0.5
    memory_mb: int = 256
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    volumes: Mapping[str, str] = field(default_factory=dict)  # container path -> volume suffix


def _postgres_ready(endpoints: Mapping[str, str]) -> None:
    try:
        with psycopg.connect(endpoints["postgres"], connect_timeout=2) as conn:
            conn.execute("select 1").fetchone()
    except psycopg.Error as exc:
        raise NotReadyError(f"select 1 failed: {str(exc).strip()}") from exc


def _redis_ready(endpoints: Mapping[str, str]) -> None:
    try:
        if not redis.Redis.from_url(endpoints["redis"], socket_timeout=2).ping():
            raise NotReadyError("PING got no PONG")
    except redis.RedisError as exc:
        raise NotReadyError(f"PING failed: {exc}") from exc


def _http_ready(endpoint: str, path: str) -> ReadyCheck:
    def check(endpoints: Mapping[str, str]) -> None:
        try:
            answer = requests.get(endpoints[endpoint] + path, timeout=2)
        except requests.RequestException as exc:
            raise NotReadyError(f"GET {path} failed: {exc}") from exc
        if answer.status_code != 200:
            raise NotReadyError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")

    return check


def _shop(password: str, replica: int, zone: str) -> Component:
    # Inside the run's network the API reaches its dependencies by their component names.
    return Component(
        name=f"shop-{replica}",
        role="shop",
        zone=zone,
        env={
            "SHOP_DATABASE_URL": f"postgresql://postgres:{password}@postgres:5432/shop",
            "SHOP_REDIS_URL": "redis://redis:6379/0",
            "SHOP_REPLICA": f"shop-{replica}",
            "SHOP_ZONE": zone,
            "SHOP_DRAIN_SECONDS": "2",
        },
        ports={8080: ("api", "http://{host}:{port}")},
        ready=_http_ready("api", "/ready"),
        cpus=0.25,
        memory_mb=256,
    )


def _postgres(password: str) -> Component:
    return Component(
        name="postgres",
        role="postgres",
        zone="a",
        env={"POSTGRES_PASSWORD": password, "POSTGRES_DB": "shop"},
        ports={5432: ("postgres", "postgresql://postgres:" + password + "@{host}:{port}/shop")},
        ready=_postgres_ready,
        cpus=0.5,
        memory_mb=512,
        tmpfs={"/var/run/postgresql": "rw"},
        volumes={"/var/lib/postgresql/data": "data"},
    )


def _redis() -> Component:
    return Component(
        name="redis",
        role="redis",
        zone="a",
        ports={6379: ("redis", "redis://{host}:{port}/0")},
        ready=_redis_ready,
        cpus=0.25,
        memory_mb=128,
        volumes={"/data": "data"},
    )


def _prometheus() -> Component:
    return Component(
        name="prometheus",
        role="prometheus",
        zone="a",
        ports={9090: ("prometheus", "http://{host}:{port}")},
        ready=_http_ready("prometheus", "/-/ready"),
        cpus=0.25,
        memory_mb=256,
        volumes={"/prometheus": "data"},
    )


# Start order: a component starts after everything before it is ready.
STACK_COMPONENTS: dict[str, tuple[str, ...]] = {
    "minimal": ("postgres", "redis", "shop-1", "prometheus"),
    "full": ("postgres", "redis", "shop-1", "shop-2", "shop-3", "prometheus"),
}


def components_for(stack: str, *, only: tuple[str, ...] = ()) -> list[Component]:
    """The components of ``stack`` (or just those named in ``only``), in start order."""
    password = secrets.token_urlsafe(12)
    makers: dict[str, Callable[[], Component]] = {
        "postgres": lambda: _postgres(password),
        "redis": _redis,
        "prometheus": _prometheus,
        "shop-1": lambda: _shop(password, 1, "a"),
        "shop-2": lambda: _shop(password, 2, "b"),
        "shop-3": lambda: _shop(password, 3, "c"),
    }
    names = only or STACK_COMPONENTS[stack]
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ConfigError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    return [makers[n]() for n in names]
