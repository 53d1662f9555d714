"""Service configuration, read once from `SHOP_*` environment variables."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """An environment variable is missing or has an invalid value."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service; see README.md for the environment variable of each."""

    database_url: str
    redis_url: str
    replica: str
    zone: str
    host: str = "0.0.0.0"  # a container must listen on every interface
    port: int = 8080
    migrate: bool = True
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_pool_timeout: float = 2.0
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 2000
    db_reply_grace: float = 1.0
    db_reconnect_timeout: float = 300.0
    db_startup_deadline: float = 60.0
    # False only in a deliberately sabotaged platform variant (a negative control): no statement
    # timeout, no reply deadline, no connect timeout and an unbounded wait for a pooled connection.
    db_bounded_waits: bool = True
    redis_timeout: float = 0.25
    redis_max_connections: int = 64
    cache_ttl: int = 60
    cart_ttl: int = 7 * 24 * 3600
    breaker_failure_threshold: int = 3
    breaker_reset_seconds: float = 5.0
    drain_seconds: float = 3.0
    shutdown_timeout: float = 20.0
    ready_timeout: float = 1.0
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    debug_endpoints: bool = False


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from `env` (default: the process environment), validating every value."""
    env = os.environ if env is None else env
    pool_min = _int(env, "SHOP_DB_POOL_MIN", Settings.db_pool_min, minimum=0)
    pool_max = _int(env, "SHOP_DB_POOL_MAX", Settings.db_pool_max, minimum=1)
    if pool_max < pool_min:
        raise ConfigError("SHOP_DB_POOL_MAX must be >= SHOP_DB_POOL_MIN")
    log_level = env.get("SHOP_LOG_LEVEL", Settings.log_level).upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(
            f"SHOP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}"
        )
    return Settings(
        database_url=_required(env, "SHOP_DATABASE_URL"),
        redis_url=_required(env, "SHOP_REDIS_URL"),
        replica=env.get("SHOP_REPLICA") or socket.gethostname(),
        zone=env.get("SHOP_ZONE") or "unknown",
        host=env.get("SHOP_HOST") or Settings.host,
        port=_int(env, "SHOP_PORT", Settings.port, minimum=0),
        migrate=_bool(env, "SHOP_MIGRATE", Settings.migrate),
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        db_pool_timeout=_float(env, "SHOP_DB_POOL_TIMEOUT_SECONDS", Settings.db_pool_timeout, 0.01),
        db_connect_timeout=_int(
            env, "SHOP_DB_CONNECT_TIMEOUT_SECONDS", Settings.db_connect_timeout, 2
        ),
        db_statement_timeout_ms=_int(
            env, "SHOP_DB_STATEMENT_TIMEOUT_MS", Settings.db_statement_timeout_ms, 1
        ),
        db_reply_grace=_float(env, "SHOP_DB_REPLY_GRACE_SECONDS", Settings.db_reply_grace, 0.1),
        db_reconnect_timeout=_float(
            env, "SHOP_DB_RECONNECT_TIMEOUT_SECONDS", Settings.db_reconnect_timeout, 1.0
        ),
        db_startup_deadline=_float(
            env, "SHOP_DB_STARTUP_DEADLINE_SECONDS", Settings.db_startup_deadline, 0.0
        ),
        db_bounded_waits=_bool(env, "SHOP_DB_BOUNDED_WAITS", Settings.db_bounded_waits),
        redis_timeout=_float(env, "SHOP_REDIS_TIMEOUT_SECONDS", Settings.redis_timeout, 0.01),
        redis_max_connections=_int(
            env, "SHOP_REDIS_MAX_CONNECTIONS", Settings.redis_max_connections, 1
        ),
        cache_ttl=_int(env, "SHOP_CACHE_TTL_SECONDS", Settings.cache_ttl, 1),
        cart_ttl=_int(env, "SHOP_CART_TTL_SECONDS", Settings.cart_ttl, 1),
        breaker_failure_threshold=_int(
            env, "SHOP_BREAKER_FAILURE_THRESHOLD", Settings.breaker_failure_threshold, 1
        ),
        breaker_reset_seconds=_float(
            env, "SHOP_BREAKER_RESET_SECONDS", Settings.breaker_reset_seconds, 0.01
        ),
        drain_seconds=_float(env, "SHOP_DRAIN_SECONDS", Settings.drain_seconds, 0.0),
        shutdown_timeout=_float(
            env, "SHOP_SHUTDOWN_TIMEOUT_SECONDS", Settings.shutdown_timeout, 0.0
        ),
        ready_timeout=_float(env, "SHOP_READY_TIMEOUT_SECONDS", Settings.ready_timeout, 0.01),
        max_body_bytes=_int(env, "SHOP_MAX_BODY_BYTES", Settings.max_body_bytes, 1),
        log_level=log_level,
        debug_endpoints=_bool(env, "SHOP_DEBUG_ENDPOINTS", Settings.debug_endpoints),
    )
