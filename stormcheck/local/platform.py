"""Bringing the local platform up and down, one Docker network and one run id at a time.

Everything a run creates carries the labels ``stormcheck.run``, ``stormcheck.role``,
``stormcheck.zone`` and the owner's lease, so that ``down`` finds it by label, and so that two runs
never touch each other's containers. Host ports are bound to 127.0.0.1 only, chosen at random
when a container is made and kept for its life (:mod:`stormcheck.local.ports`): a container
stopped and started again is found where the run file says.
A component's capped volumes (:mod:`stormcheck.local.volumes`) are made before its container and
found from the run id alone, so they go down with the run even when its folder is gone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import docker.errors
from docker import DockerClient
from docker.models.containers import Container
from docker.models.networks import Network
from docker.types import IPAMConfig, IPAMPool, LogConfig

from stormcheck.errors import NotReadyError, PlatformError
from stormcheck.local.component import Component
from stormcheck.local.monitoring import gateway_address
from stormcheck.local.ports import HostPorts, start_published
from stormcheck.local.volumes import (
    capped_volume_runs,
    create_capped_volume,
    find_capped_volumes,
    remove_capped_volumes,
    run_labels,
)
from stormcheck.runs import ComponentRecord, Lease, Manifest, RunFolder
from stormcheck.timeline import EventKind, now_ms

__all__ = [
    "FOLDER_LABEL",
    "RUN_LABEL",
    "ComponentHealth",
    "RunResources",
    "component_health",
    "docker_containers_dir",
    "find_run_resources",
    "refresh_endpoints",
    "start_platform",
    "stop_run",
]

RUN_LABEL = "stormcheck.run"
# where the run's folder (run file, ledger) is: a janitor from any runs folder finds the ledger
FOLDER_LABEL = "stormcheck.folder"
_LOG_LABELS = "stormcheck.run,stormcheck.role,stormcheck.zone"


def _labels(run_id: str, lease: Lease, **extra: str) -> dict[str, str]:
    return {"stormcheck.managed": "true", RUN_LABEL: run_id, **lease.to_labels(), **extra}


def _endpoints(container: Container, component: Component) -> dict[str, str]:
    container.reload()
    ports = container.attrs["NetworkSettings"]["Ports"] or {}
    found = {}
    for port, (name, template) in component.ports.items():
        bindings = ports.get(f"{port}/tcp") or []
        if not bindings:
            _raise_if_exited(container, component)  # an exited container publishes no port
            raise PlatformError(f"{component.name}: port {port} is not published")
        found[name] = template.format(host="127.0.0.1", port=bindings[0]["HostPort"])
    return found


def _raise_if_exited(container: Container, component: Component) -> None:
    if container.status in ("exited", "dead"):
        raise NotReadyError(
            f"{component.name} exited (code {container.attrs['State']['ExitCode']}) before it was"
            f" ready; last log lines:\n{_log_tail(container)}"
        )


def _log_tail(container: Container, lines: int = 20) -> str:
    try:
        return bytes(container.logs(tail=lines)).decode(errors="replace").rstrip()
    except docker.errors.APIError as exc:
        return f"(logs unavailable: {exc})"


@dataclass(slots=True)
class _Starting:
    """A container that has been created and is not ready yet."""

    component: Component
    container: Container
    endpoints: dict[str, str]
    started: float  # time.monotonic() when it was created
    last: str = "not checked yet"


def _is_ready(starting: _Starting, timeout_s: float) -> bool:
    """One readiness check; raises once the container exited or ``timeout_s`` has passed."""
    container, component = starting.container, starting.component
    container.reload()
    _raise_if_exited(container, component)
    try:
        component.ready(starting.endpoints)
        return True
    except NotReadyError as exc:
        starting.last = str(exc)
    if time.monotonic() - starting.started > timeout_s:
        raise NotReadyError(
            f"{component.name} not ready within {timeout_s:g} s ({starting.last}); last log"
            f" lines:\n{_log_tail(container)}"
        )
    return False


def _start_order(components: Iterable[Component]) -> list[tuple[Component, frozenset[str]]]:
    """Each component with the names it waits for; :class:`PlatformError` for a bad ``needs``."""
    listed = list(components)
    names = [c.name for c in listed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PlatformError(f"components listed twice: {', '.join(duplicates)}")
    order = []
    for index, component in enumerate(listed):
        needs = frozenset(names[:index] if component.needs is None else component.needs)
        unknown = sorted(n for n in needs if n not in names or n == component.name)
        if unknown:
            raise PlatformError(
                f"{component.name} needs {', '.join(unknown)}, which this run does not start"
                " (needs: names of other components of the run)"
            )
        order.append((component, needs))
    return order


def docker_containers_dir(client: DockerClient) -> str:
    """The engine's containers folder (``DockerRootDir``/containers), where json-file logs live.

    Raises :class:`PlatformError` when the engine does not say where its root is.
    """
    try:
        root = client.info().get("DockerRootDir")
    except docker.errors.DockerException as exc:
        raise PlatformError(f"docker info failed: {exc}") from exc
    if not root:
        raise PlatformError("docker info reports no DockerRootDir: cannot find the json-file logs")
    return f"{str(root).rstrip('/')}/containers"


def _create(
    client: DockerClient,
    network_name: str,
    *,
    folder: RunFolder,
    manifest: Manifest,
    component: Component,
    image: str,
    gateway: str,
    host_ports: HostPorts,
) -> Container:
    run_id = manifest.run_id
    labels = _labels(
        run_id,
        manifest.lease,
        **{
            "stormcheck.role": component.role,
            "stormcheck.zone": component.zone,
            FOLDER_LABEL: str(folder.root.resolve()),
        },
    )
    mounts = {}
    for path, suffix in component.volumes.items():
        volume = client.volumes.create(f"sc-{run_id}-{component.name}-{suffix}", labels=labels)
        mounts[str(volume.name)] = {"bind": path, "mode": "rw"}
    for path, size_mib in component.capped_volumes.items():
        capped = create_capped_volume(run_id, component.name, path, size_mib, labels)
        mounts[str(capped.data_dir)] = {"bind": path, "mode": "rw"}
    for host_path, path in component.binds.items():
        source = host_path
        if "{docker_containers}" in host_path:
            source = host_path.replace("{docker_containers}", docker_containers_dir(client))
        mounts[source] = {"bind": path, "mode": "ro"}

    def create(ports: dict[str, tuple[str, int]]) -> Container:
        return client.containers.create(
            image,
            command=list(component.command) or None,
            name=f"sc-{run_id}-{component.name}",
            detach=True,
            environment={
                k: v.replace("{run}", run_id).replace("{gateway}", gateway)
                for k, v in component.env.items()
            },
            labels=labels,
            volumes=mounts,
            network=network_name,
            hostname=component.name,
            # explicit host ports: Docker keeps them when the container is stopped and started
            ports=ports,
            nano_cpus=int(component.cpus * 1e9),
            mem_limit=f"{component.memory_mb}m",
            tmpfs=dict(component.tmpfs),
            extra_hosts=dict(component.extra_hosts) or None,
            cap_add=list(component.cap_add) or None,
            # The json-file log carries the run's labels, so a log shipper can tell runs apart.
            log_config=LogConfig(type="json-file", config={"labels": _LOG_LABELS}),
        )

    return start_published(create, list(component.ports), host_ports, what=component.name)


# Run networks get a subnet of their own (a /24 of this range) instead of one Docker picks, so
# that a member disconnected by a fault can be connected again with the same address: Redis and
# Sentinel announce the address they started with. Docker allows a chosen address only on a
# network whose subnet was chosen too.
RUN_SUBNETS = ipaddress.ip_network("10.213.0.0/16")


def _create_network(client: DockerClient, name: str, labels: dict[str, str]) -> Network:
    used = {
        str(config.get("Subnet"))
        for net in client.networks.list()
        for config in ((net.attrs.get("IPAM") or {}).get("Config") or [])
    }
    for subnet in RUN_SUBNETS.subnets(new_prefix=24):
        if str(subnet) in used:
            continue
        pool = IPAMPool(subnet=str(subnet), gateway=str(next(subnet.hosts())))
        try:
            return client.networks.create(
                name, driver="bridge", labels=labels, ipam=IPAMConfig(pool_configs=[pool])
            )
        except docker.errors.APIError as exc:
            if "overlap" not in str(exc).lower():
                raise
            # another run took this subnet a moment ago: try the next one
    raise PlatformError(f"no free /24 left in {RUN_SUBNETS} for the network of a new run")


def start_platform(
    client: DockerClient,
    folder: RunFolder,
    manifest: Manifest,
    components: Iterable[Component],
    images: dict[str, str],
    *,
    ready_timeout_s: float,
    progress: Callable[[str], None] = lambda _line: None,
) -> Manifest:
    """Start ``components`` on a new network, each once its ``needs`` are ready; record them.

    By default a component needs everything listed before it (a strict order); one that needs
    less starts as soon as it can and gets ready while the others start. Every component has
    ``ready_timeout_s`` from its own start. On any failure (or Ctrl-C) everything the run started
    is removed before the error propagates.
    """
    run_id = manifest.run_id
    timeline = folder.timeline
    timeline.record(EventKind.RUN_START, run_id, stack=manifest.stack)
    try:
        waiting = _start_order(components)
        network = _create_network(client, f"stormcheck-{run_id}", _labels(run_id, manifest.lease))
        manifest.network = network.name
        gateway = gateway_address(client, network.name)
        host_ports = HostPorts.for_engine(client)
        starting: list[_Starting] = []
        ready: set[str] = set()
        while waiting or starting:
            for item in [w for w in waiting if w[1] <= ready]:
                waiting.remove(item)
                component = item[0]
                progress(f"starting {component.name} ({images[component.role]})")
                container = _create(
                    client,
                    network.name,
                    folder=folder,
                    manifest=manifest,
                    component=component,
                    image=images[component.role],
                    gateway=gateway,
                    host_ports=host_ports,
                )
                network.reload()
                endpoints = _endpoints(container, component)
                starting.append(_Starting(component, container, endpoints, time.monotonic()))
            if not starting:
                blocked = ", ".join(
                    f"{c.name} (needs {', '.join(sorted(n - ready))})" for c, n in waiting
                )
                raise PlatformError(
                    f"components wait for each other and can never start: {blocked}"
                )
            newly_ready = [s for s in list(starting) if _is_ready(s, ready_timeout_s)]
            for done in newly_ready:
                starting.remove(done)
                ready.add(done.component.name)
                _record_ready(folder, manifest, done, images)
                progress(f"{done.component.name} ready in {time.monotonic() - done.started:.1f} s")
            if not newly_ready:
                time.sleep(0.25)
    except BaseException:
        stop_run(client, run_id)
        manifest.state = "failed"
        folder.write_manifest(manifest)
        raise
    manifest.state = "up"
    folder.write_manifest(manifest)
    return manifest


def _record_ready(
    folder: RunFolder, manifest: Manifest, done: _Starting, images: dict[str, str]
) -> None:
    component = done.component
    seconds = round(time.monotonic() - done.started, 3)
    folder.timeline.record(EventKind.COMPONENT_READY, component.name, seconds=seconds)
    networks = done.container.attrs["NetworkSettings"].get("Networks") or {}
    address = (networks.get(manifest.network or "") or {}).get("IPAddress") or None
    manifest.add(
        ComponentRecord(
            name=component.name,
            role=component.role,
            zone=component.zone,
            image=images[component.role],
            container=str(done.container.name),
            address=address,
            endpoints=done.endpoints,
            ready_s=seconds,
        )
    )
    folder.write_manifest(manifest)


@dataclass(frozen=True, slots=True)
class RunResources:
    """What Docker (and the host, for capped volumes) holds for one run id, and its lease."""

    run_id: str
    lease: Lease
    containers: tuple[str, ...]
    networks: tuple[str, ...]
    volumes: tuple[str, ...]
    capped_volumes: tuple[str, ...] = ()  # image files on the host


def find_run_resources(client: DockerClient) -> list[RunResources]:
    """Every run that has a labelled container, network or volume, or a capped volume."""
    flt = {"label": RUN_LABEL}
    found: dict[str, tuple[dict[str, str], list[str], list[str], list[str]]] = {}

    def entry(labels: dict[str, str]) -> tuple[dict[str, str], list[str], list[str], list[str]]:
        return found.setdefault(labels[RUN_LABEL], (labels, [], [], []))

    # the list endpoint's own fields, without an inspect per container: a container of another
    # run removed between the listing and its inspect would otherwise raise NotFound here
    for summary in client.api.containers(all=True, filters=flt):
        names = summary.get("Names") or []
        if names:
            entry(summary.get("Labels") or {})[1].append(str(names[0]).lstrip("/"))
    for network in client.networks.list(filters=flt):
        entry(network.attrs.get("Labels") or {})[2].append(str(network.name))
    for volume in client.volumes.list(filters=flt):
        entry(volume.attrs.get("Labels") or {})[3].append(str(volume.name))
    for run_id in capped_volume_runs():
        entry({**run_labels(run_id), RUN_LABEL: run_id})
    return [
        RunResources(
            run_id,
            Lease.from_labels(labels),
            tuple(c),
            tuple(n),
            tuple(v),
            tuple(str(capped.image) for capped in find_capped_volumes(run_id)),
        )
        for run_id, (labels, c, n, v) in sorted(found.items())
    ]


def stop_run(client: DockerClient, run_id: str) -> RunResources:
    """Remove every container, network and volume labelled with ``run_id``; return what it was.

    Capped volumes go last, once no container holds them: unmounted, detached and deleted.
    """
    flt = {"label": f"{RUN_LABEL}={run_id}"}
    containers = client.containers.list(all=True, filters=flt)
    for container in containers:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
    networks = client.networks.list(filters=flt)
    for network in networks:
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
    volumes = client.volumes.list(filters=flt)
    for volume in volumes:
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
    capped = remove_capped_volumes(run_id)
    return RunResources(
        run_id,
        Lease.for_current_process(),
        tuple(str(c.name) for c in containers),
        tuple(str(n.name) for n in networks),
        tuple(str(v.name) for v in volumes),
        capped.images,
    )


def _with_port(url: str, port: str) -> str:
    parts = urlsplit(url)
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@" if userinfo else ""
    return urlunsplit(parts._replace(netloc=f"{netloc}{parts.hostname}:{port}"))


def refresh_endpoints(
    client: DockerClient,
    folder: RunFolder,
    manifest: Manifest,
    components: Mapping[str, Component],
) -> dict[str, dict[str, str]]:
    """Re-read the host ports of the run's running containers; record any that moved.

    Containers of this version keep their host ports for life (:mod:`stormcheck.local.ports`),
    so nothing moves; a container published without a fixed host port (made by an older
    version, or by hand) gets a new random one each time it is started again, and the run file's
    endpoints go stale. Each moved component's endpoints are rewritten in the run file and noted
    on the timeline; returns them (name → endpoints). Containers that are gone or not running
    keep their last endpoints (``status`` reports them).
    """
    moved: dict[str, dict[str, str]] = {}
    for name, record in list(manifest.components.items()):
        if name not in components:
            continue
        try:
            container = client.containers.get(record.container)
            container.reload()
        except docker.errors.NotFound:
            continue
        ports = container.attrs["NetworkSettings"]["Ports"] or {}
        if container.status != "running" or not ports:
            continue  # not running (status says so), or stopped between the two reads
        # Only the port changes: the run file's URLs keep what only the run knew (credentials),
        # which a fresh rendering of the component's templates would not have.
        endpoints = dict(record.endpoints)
        for port, (endpoint, _template) in components[name].ports.items():
            bindings = ports.get(f"{port}/tcp") or []
            if bindings and endpoint in endpoints:
                endpoints[endpoint] = _with_port(endpoints[endpoint], bindings[0]["HostPort"])
        if endpoints != record.endpoints:
            manifest.update(name, endpoints=endpoints)
            moved[name] = endpoints
    if moved:
        folder.write_manifest(manifest)
        for name, endpoints in moved.items():
            folder.timeline.record(
                EventKind.NOTE, "endpoints moved", component=name, endpoints=endpoints
            )
    return moved


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """A component's container state and readiness, as ``status`` reports it."""

    name: str
    state: str
    healthy: bool
    detail: str


def component_health(
    client: DockerClient, manifest: Manifest, checks: dict[str, Component]
) -> list[ComponentHealth]:
    """Re-check every component of a run: container running, readiness check passing."""
    report = []
    for name, record in manifest.components.items():
        try:
            container = client.containers.get(record.container)
        except docker.errors.NotFound:
            report.append(ComponentHealth(name, "missing", False, "container not found"))
            continue
        if container.status != "running":
            report.append(ComponentHealth(name, container.status, False, _log_tail(container, 5)))
            continue
        started = now_ms()
        try:
            checks[name].ready(manifest.endpoints(name))
        except NotReadyError as exc:
            report.append(ComponentHealth(name, "running", False, str(exc)))
            continue
        report.append(
            ComponentHealth(name, "running", True, f"ready check {now_ms() - started} ms")
        )
    return report
