"""One container of the local platform, as the component registry declares it.

Values that only the run knows may be written as placeholders, filled in when the container is
created (:data:`RUN_PLACEHOLDERS`): ``{run}`` (the run id) and ``{gateway}`` (the run network's
gateway: the address every client on the host reaches the containers from) in ``env`` values, and
``{docker_containers}`` (the engine's folder of containers and their json-file logs) in ``binds``
keys — so a log shipper can be declared before its run exists.

``capped_volumes`` (container path → size in MiB) puts a directory on a filesystem of its own,
of exactly that size, created with the run (:mod:`stormcheck.local.volumes`): a full disk
then stays inside it and never reaches the host's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from stormcheck.errors import ConfigError

__all__ = ["CAPPED_VOLUME_MIB", "RUN_PLACEHOLDERS", "Component", "ReadyCheck"]

RUN_PLACEHOLDERS = ("{run}", "{gateway}", "{docker_containers}")

# The sizes a capped volume may have, in MiB: ext4 with its journal needs a few MiB, and a
# volume is preallocated on the host's disk in full when the run starts.
CAPPED_VOLUME_MIB = (16, 65536)

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
    capped_volumes: Mapping[str, int] = field(default_factory=dict)  # container path -> MiB
    binds: Mapping[str, str] = field(default_factory=dict)  # host path -> container path, read-only
    extra_hosts: Mapping[str, str] = field(default_factory=dict)  # e.g. host.docker.internal
    cap_add: tuple[str, ...] = ()
    # Names of the components that must be ready before this one starts. None (the default):
    # every component listed before it, so a plain list starts strictly in order. A component
    # with fewer needs starts as soon as they are met and gets ready alongside the others.
    needs: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        low, high = CAPPED_VOLUME_MIB
        for path, size in self.capped_volumes.items():
            where = f"component {self.name}: capped_volumes[{path!r}]"
            if not path.startswith("/") or path.rstrip("/") == "":
                raise ConfigError(f"{where}: expected an absolute container path below /")
            if path in self.volumes or path in self.tmpfs:
                raise ConfigError(f"{where}: the path is also in volumes or tmpfs; expected one")
            # checked at run time too: a size may come from untyped code (bool is an int)
            if type(size) is not int or not low <= size <= high:
                raise ConfigError(
                    f"{where} = {size!r}: expected a whole number of MiB from {low} to {high}"
                )
