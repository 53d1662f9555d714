"""Probes of the local platform: measurements that only read, for steady-state hypotheses.

Chaos Toolkit calls them by module path (``provider: {type: python, module:
stormcheck.chaos.local.probes, func: http_status}``) and compares what they return with the
hypothesis' tolerance. They find their run like the actions do (configuration
``stormcheck_run``, else ``STORMCHECK_RUN``, else the only run up). A probe that cannot measure
raises (Chaos Toolkit then reports the probe as failed), except where "no data" is itself an
answer (``None``).

Written without ``from __future__ import annotations`` so that chaoslib's discovery reads real
types; every parameter is positional-or-keyword.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from stormcheck.chaos.context import RunHandle, open_run
from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import ConfigError
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.logstore.query import LogQuery
from stormcheck.paths import project_root
from stormcheck.slo.evaluate import evaluate_all
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.timeline import EventKind, now_ms
from stormcheck.verdict import Window

__all__ = [
    "alert_received",
    "alertmanager_alert_state",
    "http_status",
    "log_count",
    "patroni_leader",
    "patroni_sync_standby",
    "promql_value",
    "sentinel_master",
    "slo_verdict",
]

Configuration = Mapping[str, Any] | None


def _with_run[T](configuration: Configuration, read: Callable[[RunHandle], T]) -> T:
    handle = open_run(configuration)
    try:
        return read(handle)
    finally:
        handle.close()


def promql_value(query: str, configuration: Configuration = None) -> float | None:
    """The value of ``query`` (one series) on the run's Prometheus now; ``None``: no data."""
    url = _with_run(configuration, lambda h: h.manifest().endpoint("prometheus"))
    with PrometheusClient(url) as prometheus:
        return prometheus.query_vector(query).single_value()


def slo_verdict(
    slo: str,
    window_s: float = 60.0,
    slo_dir: str = "platform/slo",
    configuration: Configuration = None,
) -> str:
    """The verdict (``pass``, ``fail`` or ``inconclusive``) of SLO ``slo`` over the last
    ``window_s`` seconds, from the run's Prometheus and log store (the gate's evaluation)."""
    given: object = window_s  # YAML may hand over anything
    if not isinstance(given, int | float) or isinstance(given, bool) or given <= 0:
        raise ConfigError(f"window_s: expected a number of seconds > 0, got {window_s!r}")
    folder = Path(slo_dir) if Path(slo_dir).is_absolute() else project_root() / slo_dir
    by_name = {s.name: s for s in read_slos(slo_files([folder]))}
    if slo not in by_name:
        raise ConfigError(f"slo: expected one of {', '.join(sorted(by_name))}, got {slo!r}")
    manifest = _with_run(configuration, lambda h: h.manifest())
    end = now_ms()
    window = Window(end - round(window_s * 1000), end)
    stores = {}
    if by_name[slo].is_log_based and "opensearch" in manifest.components:
        stores = {"opensearch": OpenSearchStore(manifest.endpoint("opensearch"))}
    try:
        with PrometheusClient(manifest.endpoint("prometheus")) as prometheus:
            (verdict,) = evaluate_all([by_name[slo]], window, prometheus, logs=stores)
    finally:
        for store in stores.values():
            store.close()
    return verdict.outcome.value


def http_status(
    path: str = "/health",
    component: str = "ingress",
    endpoint: str = "api",
    timeout_s: float = 2.0,
    configuration: Configuration = None,
) -> int:
    """The HTTP status of ``GET path`` on the run's ``component`` (default: through the ingress);
    0 when nothing answered within ``timeout_s``."""
    url = _with_run(configuration, lambda h: h.manifest().endpoint(component, endpoint))
    try:
        return httpx.get(url + path, timeout=timeout_s).status_code
    except httpx.HTTPError:
        return 0


def alert_received(
    alert: str, status: str = "firing", since_ms: int = 0, configuration: Configuration = None
) -> bool:
    """Whether the run's alert sink received ``alert`` with ``status`` at or after ``since_ms``
    (read from the run's timeline, where the sink writes every notification)."""
    kind = {"firing": EventKind.ALERT_FIRING, "resolved": EventKind.ALERT_RESOLVED}.get(status)
    if kind is None:
        raise ConfigError(f"status: expected firing or resolved, got {status!r}")
    events = _with_run(configuration, lambda h: h.folder.timeline.events(kind))
    return any(e.name == alert and e.at_ms >= since_ms for e in events)


def alertmanager_alert_state(alert: str, configuration: Configuration = None) -> str:
    """``active``, ``suppressed`` or ``none``: the state of ``alert`` in the run's Alertmanager."""
    url = _with_run(configuration, lambda h: h.manifest().endpoint("alertmanager"))
    with AlertmanagerClient(url) as alertmanager:
        states = {a.state for a in alertmanager.alerts() if a.name == alert}
    return "active" if "active" in states else (states.pop() if states else "none")


def log_count(
    window_s: float = 60.0,
    level: str = "",
    logger: str = "",
    configuration: Configuration = None,
) -> int:
    """How many log documents of the run the log store holds for the last ``window_s``."""
    manifest = _with_run(configuration, lambda h: h.manifest())
    end = now_ms()
    query = LogQuery(window=Window(end - round(window_s * 1000), end)).where(run=manifest.run_id)
    if level:
        query = query.where(level=level)
    if logger:
        query = query.where(logger=logger)
    store = OpenSearchStore(manifest.endpoint("opensearch"))
    try:
        return store.count(query)
    finally:
        store.close()


def _patroni_members(configuration: Configuration) -> list[dict[str, Any]]:
    def members(handle: RunHandle) -> list[dict[str, Any]]:
        manifest = handle.manifest()
        for name, record in manifest.components.items():
            if record.role == "patroni":
                try:
                    cluster = httpx.get(manifest.endpoint(name, "patroni") + "/cluster", timeout=2)
                    return list(cluster.json().get("members", []))
                except (httpx.HTTPError, ValueError):
                    continue  # this member is down: ask the next
        return []

    return _with_run(configuration, members)


def patroni_leader(configuration: Configuration = None) -> str | None:
    """The Patroni member that leads now (``pg-1``/``pg-2``); ``None`` when none does."""
    leaders = [m["name"] for m in _patroni_members(configuration) if m.get("role") == "leader"]
    return leaders[0] if len(leaders) == 1 else None


def patroni_sync_standby(configuration: Configuration = None) -> str | None:
    """The member Patroni reports as synchronous standby; ``None`` when there is none."""
    members = _patroni_members(configuration)
    standbys = [m["name"] for m in members if m.get("role") in ("sync_standby", "synchronous")]
    return standbys[0] if standbys else None


def sentinel_master(configuration: Configuration = None) -> str | None:
    """The Redis node the Sentinels name as master (by component name); ``None`` when no
    Sentinel answers or they disagree."""
    import redis

    from stormcheck.local.readiness import SENTINEL_MASTER_NAME

    def ask(handle: RunHandle) -> str | None:
        manifest = handle.manifest()
        by_address = {
            r.address: n for n, r in manifest.components.items() if r.role == "redis-node"
        }
        named = set()
        for name, record in manifest.components.items():
            if record.role != "sentinel":
                continue
            try:
                client = redis.Redis.from_url(manifest.endpoint(name, "sentinel"), socket_timeout=2)
                answer: Any = client.sentinel_get_master_addr_by_name(SENTINEL_MASTER_NAME)
            except redis.RedisError:
                continue
            if isinstance(answer, tuple | list) and answer:
                host = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
                named.add(by_address.get(host, host))
        return named.pop() if len(named) == 1 else None

    return _with_run(configuration, ask)
