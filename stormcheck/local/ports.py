"""Host ports for the run's containers: chosen once, published explicitly, kept across restarts.

A port binding without a host port gets a new ephemeral port from Docker every time its container
starts, so a container stopped and started again (a fault and its rollback, the janitor) would
move, and every client holding the run file's endpoint would be refused. A binding with an
explicit host port keeps that port for the container's whole life, so the run's containers are
published on ports chosen here.

The ports are chosen outside the kernel's ephemeral range (``net.ipv4.ip_local_port_range``),
where outgoing connections, Docker's own random host ports and servers binding port 0
(:func:`stormcheck.net.free_port`) never land: while its container is stopped, a port can be
taken only by something that asks for that number. Ports that any container of the engine
reserves, running or stopped, are never chosen, nor ports something listens on. A port taken
between the choice and the start (another run choosing at the same moment, a host process) makes
the start fail with "port is already allocated" or "address already in use": the container is
then removed and made again on other ports (:func:`start_published`).
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import docker.errors
from docker import DockerClient

from stormcheck.errors import PlatformError

__all__ = [
    "PORT_CONFLICTS",
    "PORT_FLOOR",
    "START_ATTEMPTS",
    "HostPorts",
    "candidate_ports",
    "engine_reservations",
    "is_port_conflict",
    "reserved_ports",
    "start_published",
]

# The lowest host port chosen: below it live the well-known and registered services a developer
# may start by number (8080, 9090, 5432...).
PORT_FLOOR = 20000
_PORT_CEILING = 65535
# Too few ports outside the ephemeral range (a kernel configured to use nearly all of them):
# choose among all ports above the floor; a rare clash is then retried at start.
_ENOUGH_CANDIDATES = 1000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's default, when the range cannot be read

# What Docker says when a published host port cannot be bound at start: another container
# holds it, or a host process listens on it (the userland proxy's bind fails).
PORT_CONFLICTS = ("port is already allocated", "address already in use")
START_ATTEMPTS = 5


def _ephemeral_range(path: Path = _EPHEMERAL_RANGE) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return low, high


def candidate_ports(ephemeral: tuple[int, int]) -> range | list[int]:
    """The host ports to choose from, given the kernel's ephemeral range ``(low, high)``."""
    low, high = ephemeral
    below = range(PORT_FLOOR, max(PORT_FLOOR, low))
    above = range(max(PORT_FLOOR, high + 1), _PORT_CEILING + 1)
    if len(below) + len(above) < _ENOUGH_CANDIDATES:
        return range(PORT_FLOOR, _PORT_CEILING + 1)
    return [*below, *above] if above else below


def _host_ports(bindings: Mapping[str, Any] | None) -> Iterable[int]:
    for entries in (bindings or {}).values():
        for entry in entries or ():
            port = str((entry or {}).get("HostPort") or "")
            if port.isdigit():
                yield int(port)


def reserved_ports(containers: Iterable[Mapping[str, Any]]) -> set[int]:
    """Host ports the containers (``docker inspect`` documents) hold or will hold when started:
    their configured bindings (kept while stopped) and their live ones."""
    found: set[int] = set()
    for attrs in containers:
        found.update(_host_ports((attrs.get("HostConfig") or {}).get("PortBindings")))
        found.update(_host_ports((attrs.get("NetworkSettings") or {}).get("Ports")))
    return found


class _EngineReservations:
    """What the engine's containers reserve, read again at every choice: a container's bindings
    never change, so only containers not seen before are inspected."""

    def __init__(self, client: DockerClient) -> None:
        self._client = client
        self._seen: dict[str, set[int]] = {}

    def __call__(self) -> set[int]:
        found: set[int] = set()
        for summary in self._client.api.containers(all=True):
            cid = str(summary["Id"])
            if cid not in self._seen:
                # one of another run removed between the listing and its inspect is simply gone
                with contextlib.suppress(docker.errors.NotFound):
                    self._seen[cid] = reserved_ports([self._client.api.inspect_container(cid)])
            found |= self._seen.get(cid, set())
        return found


def engine_reservations(client: DockerClient) -> Callable[[], set[int]]:
    """A reader of the host ports the engine's containers reserve (see :func:`reserved_ports`)."""
    return _EngineReservations(client)


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something on the host holds ``port`` (a bind as Docker's proxy makes it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


class HostPorts:
    """Chooses host ports for the containers of one platform start.

    What the engine's containers reserve is read at every choice (other runs start containers
    meanwhile); every port chosen or found taken here is remembered too, so the containers of
    one start never get the same port, nor one refused before.
    """

    def __init__(
        self,
        reserved: Callable[[], Collection[int]],
        *,
        candidates: Sequence[int] | None = None,
        taken: Callable[[int], bool] = _listening,
        rng: random.Random | None = None,
    ) -> None:
        self._read_reserved = reserved
        self._used: set[int] = set()
        self._candidates = candidates
        self._taken = taken
        self._rng = rng or random.SystemRandom()

    @classmethod
    def for_engine(cls, client: DockerClient) -> HostPorts:
        """Ports on this host, avoiding what the engine's containers reserve."""
        return cls(engine_reservations(client))

    def choose(self, count: int) -> list[int]:
        """``count`` different ports, none reserved nor listened on; :class:`PlatformError` when
        the candidate range has no more free ports."""
        candidates = (
            self._candidates
            if self._candidates is not None
            else candidate_ports(_ephemeral_range())
        )
        reserved = set(self._read_reserved()) | self._used
        free = [p for p in candidates if p not in reserved]
        chosen: list[int] = []
        while len(chosen) < count:
            if not free:
                raise PlatformError(
                    f"no free host port left among the {len(candidates)} candidates"
                    f" ({candidates[0]}-{candidates[-1]}): remove runs that are no longer needed"
                    " (`stormcheck down --all`)"
                )
            port = free.pop(self._rng.randrange(len(free)))
            self._used.add(port)
            if not self._taken(port):
                chosen.append(port)
        return chosen


def is_port_conflict(exc: BaseException) -> bool:
    """Whether Docker refused a start because a published host port is taken."""
    text = str(getattr(exc, "explanation", None) or exc).lower()
    return isinstance(exc, docker.errors.APIError) and any(c in text for c in PORT_CONFLICTS)


class _Startable(Protocol):
    def start(self) -> Any: ...

    def remove(self, *, force: bool = ...) -> Any: ...


def start_published[C: _Startable](
    create: Callable[[dict[str, tuple[str, int]]], C],
    container_ports: Sequence[int],
    ports: HostPorts,
    *,
    what: str,
    attempts: int = START_ATTEMPTS,
) -> C:
    """Create a container with ``create`` (given Docker's ``ports`` argument: each of
    ``container_ports`` published on 127.0.0.1 on a chosen host port), start it, and return it.

    When the start fails because a host port was taken meanwhile, the container is removed and
    made again on other ports, up to ``attempts`` times; then :class:`PlatformError` names
    ``what`` and the ports tried. Any other failure propagates (the container is left for the
    caller's clean-up, which finds it by label).
    """
    tried: list[list[int]] = []
    for _ in range(attempts):
        host = ports.choose(len(container_ports))
        tried.append(host)
        container = create(
            {f"{p}/tcp": ("127.0.0.1", h) for p, h in zip(container_ports, host, strict=True)}
        )
        try:
            container.start()
        except docker.errors.APIError as exc:
            if not is_port_conflict(exc):
                raise
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
            continue
        return container
    raise PlatformError(
        f"{what}: could not publish its ports on 127.0.0.1: host ports"
        f" {', '.join('/'.join(map(str, h)) for h in tried)} were each taken before it"
        f" started ({attempts} attempts)"
    )
