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

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker.errors
import httpx
import requests
from docker import DockerClient

from stormcheck.chaos.context import RunHandle, open_run
from stormcheck.chaos.experiment import interrupted
from stormcheck.clients.alertmanager import AlertmanagerClient
from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import ConfigError, PlatformError
from stormcheck.local.engine import connect
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
    "postgres_writers",
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


# --- who accepts writes: the split-brain sampler -------------------------------------------------

# Asked over the member's own Unix socket, inside its container: no network is needed, so a
# member cut off by iptables in its network namespace still answers (`docker exec` enters the
# container from the engine, not over the run's network).
_IN_RECOVERY = (
    "psql", "-X", "-A", "-t", "-h", "/var/run/postgresql", "-U", "postgres", "-d", "postgres",
    "-c", "select pg_is_in_recovery()",
)  # fmt: skip
_ERROR_CHARS = 80
_CHECK_S = 0.25  # how often a waiting sampler looks whether the experiment was interrupted


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _ERROR_CHARS else line[: _ERROR_CHARS - 3] + "..."


def _writable(client: DockerClient, container: str, timeout_s: float) -> tuple[bool | None, str]:
    """Whether the PostgreSQL server in ``container`` accepts writes (is not in recovery);
    ``None`` and a short reason when it did not answer."""
    env = {"PGCONNECT_TIMEOUT": str(max(1, int(timeout_s)))}
    try:
        exec_id = client.api.exec_create(container, list(_IN_RECOVERY), environment=env)["Id"]
        output: bytes = client.api.exec_start(exec_id)
        code = client.api.exec_inspect(exec_id).get("ExitCode")
    except docker.errors.NotFound:
        return None, "container gone"
    except docker.errors.APIError as exc:
        return None, _short(str(exc.explanation or exc))
    except requests.RequestException as exc:  # the engine did not answer within the timeout
        return None, _short(f"no answer within {timeout_s:g} s: {type(exc).__name__}")
    text = output.decode(errors="replace").strip()
    if code == 0 and text in ("t", "f"):
        return text == "f", ""
    return None, _short(text or f"psql exited {code}")


def _wait_until(due: float) -> str | None:
    """Sleep until ``due`` (monotonic); why the experiment was interrupted, as soon as it is.

    chaoslib waits for an activity in the background before it plays the rollbacks: an
    interrupted experiment (a signal, a tripped stop condition) must not wait for the span.
    """
    while (left := due - time.monotonic()) > 0:
        if why := interrupted():
            return why
        time.sleep(min(left, _CHECK_S))
    return interrupted()


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name}: expected a number of seconds > 0, got {value!r}")
    return float(value)


def postgres_writers(
    span_s: float,
    interval_s: float = 1.0,
    timeout_s: float = 3.0,
    configuration: Configuration = None,
) -> dict[str, Any]:
    """Which PostgreSQL members accept writes, asked every ``interval_s`` for ``span_s``.

    Meant to run in the background of an experiment's method (``background: true``) beside
    the fault. Each round asks every Patroni member of the run at once (one thread each),
    through ``docker exec <member> psql`` over its local Unix socket, ``select
    pg_is_in_recovery()``. Returns ``{"members": [...], "interval_s": ..., "rounds": [...]}``,
    each round ``{"at_ms": <UTC ms when it was asked>, "writable": {member: true | false |
    null}}`` plus ``"errors": {member: reason}`` for the members that did not answer (within
    ``timeout_s``). An interrupted experiment (a signal, a tripped stop condition) ends the
    sampling early, with ``"stopped": <why>``, so that the rollbacks are not kept waiting.
    Raises only when it cannot sample at all: bad arguments, no run, no Patroni member, no
    Docker engine.
    """
    span = _seconds("span_s", span_s)
    interval = _seconds("interval_s", interval_s)
    timeout = _seconds("timeout_s", timeout_s)

    def members(handle: RunHandle) -> dict[str, str]:
        manifest = handle.manifest()
        found = {
            name: manifest.container(name)
            for name, record in sorted(manifest.components.items())
            if record.role == "patroni"
        }
        if not found:
            raise PlatformError(f"run {manifest.run_id} has no Patroni member to ask")
        return found

    containers = _with_run(configuration, members)
    client = connect(timeout_s=max(1.0, timeout))
    rounds: list[dict[str, Any]] = []
    stopped: str | None = None
    try:
        with ThreadPoolExecutor(len(containers), thread_name_prefix="writers") as pool:
            start = time.monotonic()
            tick = 0
            while tick * interval <= span:
                stopped = _wait_until(start + tick * interval)
                if stopped:
                    break
                at = now_ms()
                answers = list(
                    pool.map(lambda c: _writable(client, c, timeout), containers.values())
                )
                sample: dict[str, Any] = {
                    "at_ms": at,
                    "writable": {m: w for m, (w, _) in zip(containers, answers, strict=True)},
                }
                errors = {m: e for m, (w, e) in zip(containers, answers, strict=True) if w is None}
                if errors:
                    sample["errors"] = errors
                rounds.append(sample)
                # a round slower than the interval skips the ticks it overran (never a burst)
                tick = max(tick + 1, int((time.monotonic() - start) // interval) + 1)
    finally:
        client.close()
    result: dict[str, Any] = {"members": list(containers), "interval_s": interval, "rounds": rounds}
    if stopped:
        result["stopped"] = stopped
    return result
