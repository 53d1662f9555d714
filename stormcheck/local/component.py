"""One container of the local platform, as the component registry declares it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Component", "ReadyCheck"]

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
    binds: Mapping[str, str] = field(default_factory=dict)  # host path -> container path, read-only
    extra_hosts: Mapping[str, str] = field(default_factory=dict)  # e.g. host.docker.internal
    cap_add: tuple[str, ...] = ()
