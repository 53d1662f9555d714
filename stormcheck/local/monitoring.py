"""The metrics and alerting components of the local platform, and how a run gets its configuration.

Components (start them with :func:`stormcheck.local.platform.start_platform`, after the ones they
scrape; Prometheus last, so that its first scrape finds everything):

- ``alertmanager`` (role ``alertmanager``), port 9093;
- ``postgres-exporter`` (role ``postgres-exporter``, every database's DSN in its environment), 9187;
- ``redis-exporter`` (role ``redis-exporter``, multi-target ``/scrape``), port 9121;
- ``prometheus`` (role ``prometheus``), port 9090, with the lifecycle API for reloads and the
  admin API for TSDB snapshots (the run's metrics are kept with the run before ``down``).

Their images are drop-ins for the official ones, which start with a default configuration; once
the run is up, :func:`configure_run` installs the rendered configuration (Docker's archive API,
the same for a local image or an official one), reloads each process and checks that it runs
the new configuration — a reload that failed is an error, not a silent old configuration.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import docker.errors
import httpx
import yaml
from docker import DockerClient
from docker.models.containers import Container

from stormcheck.errors import ConfigError, NotReadyError, PlatformError
from stormcheck.local.component import Component
from stormcheck.observability.config import config_files
from stormcheck.runs import Manifest
from stormcheck.waiting import NotYet, poll_until

__all__ = [
    "OBSERVABILITY_ROLES",
    "alertmanager",
    "configure_run",
    "gateway_address",
    "install_files",
    "point_alertmanager",
    "postgres_exporter",
    "prometheus",
    "redis_exporter",
]

OBSERVABILITY_ROLES = ("alertmanager", "postgres-exporter", "redis-exporter", "prometheus")
_RELOAD_TIMEOUT_S = 30.0


def _http_ready(endpoint: str, path: str) -> Callable[[Mapping[str, str]], None]:
    def check(endpoints: Mapping[str, str]) -> None:
        url = endpoints[endpoint] + path
        try:
            answer = httpx.get(url, timeout=2)
        except httpx.HTTPError as exc:
            raise NotReadyError(f"GET {url} failed: {exc}") from exc
        if answer.status_code != httpx.codes.OK:
            raise NotReadyError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")

    return check


def alertmanager() -> Component:
    """Alertmanager; configured by :func:`configure_run` once the run is up."""
    return Component(
        name="alertmanager",
        role="alertmanager",
        zone="a",
        ports={9093: ("alertmanager", "http://{host}:{port}")},
        ready=_http_ready("alertmanager", "/-/ready"),
        command=(
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--storage.path=/alertmanager",
            # one instance: no gossip port, no peers to wait for
            "--cluster.listen-address=",
        ),
        cpus=0.1,
        memory_mb=64,
    )


def prometheus() -> Component:
    """Prometheus with the lifecycle API (``/-/reload``), the admin API (TSDB snapshots for the
    evidence kept before ``down``) and a short retention."""
    return Component(
        name="prometheus",
        role="prometheus",
        zone="a",
        ports={9090: ("prometheus", "http://{host}:{port}")},
        ready=_http_ready("prometheus", "/-/ready"),
        command=(
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=1d",
            "--web.enable-lifecycle",
            "--web.enable-admin-api",
        ),
        cpus=0.25,
        memory_mb=256,
        volumes={"/prometheus": "data"},
    )


def postgres_exporter(dsns: Sequence[str]) -> Component:
    """The PostgreSQL exporter for every database of the run: ``dsns`` as seen in the network.

    The DSNs carry the run's password, so they go in the container's environment, never in a
    file of the repository.
    """
    if not dsns:
        raise ConfigError("postgres_exporter needs at least one DSN")
    return Component(
        name="postgres-exporter",
        role="postgres-exporter",
        zone="a",
        ports={9187: ("exporter", "http://{host}:{port}")},
        ready=_http_ready("exporter", "/metrics"),
        env={"DATA_SOURCE_NAME": ",".join(dsns)},
        # 0.11's new-style collectors do not label their series with the server, so two DSNs
        # make every scrape fail on duplicates; no rule, dashboard or SLO reads their metrics
        command=("--no-collector.database", "--no-collector.bgwriter"),
        cpus=0.1,
        memory_mb=64,
    )


def redis_exporter() -> Component:
    """The Redis exporter for every Redis of the run (``/scrape?target=redis://...``)."""
    return Component(
        name="redis-exporter",
        role="redis-exporter",
        zone="a",
        ports={9121: ("exporter", "http://{host}:{port}")},
        ready=_http_ready("exporter", "/metrics"),
        cpus=0.1,
        memory_mb=64,
    )


def gateway_address(client: DockerClient, network: str) -> str:
    """The host's address on ``network`` (its gateway): where containers reach the alert sink."""
    try:
        attrs = client.networks.get(network).attrs
    except docker.errors.DockerException as exc:
        raise PlatformError(f"network {network}: cannot inspect: {exc}") from exc
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
    raise PlatformError(f"network {network}: no IPv4 gateway in its IPAM configuration")


def install_files(container: Container, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (absolute path → content, mode 0644, parents 0755) into ``container``."""
    buffer = io.BytesIO()
    directories: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, content in sorted(files.items()):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    archive.addfile(info)
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode, info.mtime = len(content), 0o644, int(time.time())
            archive.addfile(info, io.BytesIO(content))
    try:
        if not container.put_archive("/", buffer.getvalue()):
            raise PlatformError(f"{container.name}: the engine refused the configuration archive")
    except docker.errors.APIError as exc:
        raise PlatformError(f"{container.name}: cannot install configuration: {exc}") from exc


def _log_tail(container: Container) -> str:
    try:
        return bytes(container.logs(tail=10)).decode(errors="replace").rstrip()
    except docker.errors.APIError as exc:
        return f"(logs unavailable: {exc})"


def _until(what: str, container: Container, check: Callable[[], str | None]) -> None:
    """Poll ``check`` (``None``: done; a string: why not yet) until done or the timeout."""

    def done() -> bool | NotYet:
        try:
            outcome = check()
        except httpx.HTTPError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        return True if outcome is None else NotYet(outcome)

    poll_until(
        done,
        timeout_s=_RELOAD_TIMEOUT_S,
        interval_s=0.5,  # poll interval of a reload check, not a wait for the reload
        on_timeout=lambda reason: PlatformError(
            f"{container.name}: {what} not done within {_RELOAD_TIMEOUT_S:g} s ({reason});"
            f" last log lines:\n{_log_tail(container)}"
        ),
    )


def _reload_alertmanager(container: Container, url: str, expected: str) -> None:
    container.kill(signal="SIGHUP")
    want = yaml.safe_load(expected)

    def check() -> str | None:
        answer = httpx.get(f"{url}/api/v2/status", timeout=2)
        running = yaml.safe_load(answer.json()["config"]["original"])
        hooks = {
            h["url"] for r in running.get("receivers", []) for h in r.get("webhook_configs") or []
        }
        wanted = {h["url"] for r in want["receivers"] for h in r["webhook_configs"]}
        return None if hooks == wanted else f"runs webhooks {sorted(hooks)}"

    _until("reload of the configuration", container, check)


def _reload_prometheus(container: Container, url: str, jobs: Collection[str]) -> None:
    answer = httpx.post(f"{url}/-/reload", timeout=10)
    if answer.status_code != httpx.codes.OK:
        raise PlatformError(
            f"{container.name}: /-/reload answered {answer.status_code}: {answer.text[:500]}"
        )

    def check() -> str | None:
        config = yaml.safe_load(
            httpx.get(f"{url}/api/v1/status/config", timeout=2).json()["data"]["yaml"]
        )
        running = {j["job_name"] for j in config.get("scrape_configs") or []}
        if running != set(jobs):
            return f"runs jobs {sorted(running)}"
        groups = httpx.get(f"{url}/api/v1/rules", timeout=2).json()["data"]["groups"]
        return None if groups else "no rule group loaded"

    _until("reload of the configuration and rules", container, check)


def _containers(client: DockerClient, manifest: Manifest) -> dict[str, Container]:
    return {
        name: client.containers.get(record.container)
        for name, record in manifest.components.items()
        if name in ("alertmanager", "prometheus")
    }


def point_alertmanager(client: DockerClient, manifest: Manifest, webhook_url: str) -> None:
    """Install Alertmanager's rendered configuration (every receiver → ``webhook_url``) and
    reload it; :class:`PlatformError` if the run has no Alertmanager or it keeps the old one."""
    if "alertmanager" not in manifest.components:
        raise PlatformError(f"run {manifest.run_id} has no alertmanager component")
    container = _containers(client, manifest)["alertmanager"]
    files = config_files(set(manifest.components), webhook_url)["alertmanager"]
    install_files(container, files)
    _reload_alertmanager(
        container,
        manifest.endpoint("alertmanager"),
        files["/etc/alertmanager/alertmanager.yml"].decode(),
    )


def configure_run(client: DockerClient, manifest: Manifest, webhook_url: str) -> None:
    """Install and load the rendered configuration in the run's observability components.

    Alertmanager's receivers all go to ``webhook_url`` (the alert sink); Prometheus scrapes the
    components of ``manifest`` only. Raises :class:`PlatformError` when a component does not run
    the new configuration afterwards.
    """
    if "alertmanager" in manifest.components:
        point_alertmanager(client, manifest, webhook_url)
    if "prometheus" in manifest.components:
        container = _containers(client, manifest)["prometheus"]
        files = config_files(set(manifest.components), webhook_url)["prometheus"]
        install_files(container, files)
        rendered = yaml.safe_load(files["/etc/prometheus/prometheus.yml"])
        _reload_prometheus(
            container,
            manifest.endpoint("prometheus"),
            [job["job_name"] for job in rendered["scrape_configs"]],
        )
