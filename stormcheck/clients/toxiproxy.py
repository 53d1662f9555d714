"""A typed client of Toxiproxy's HTTP API (v2): proxies, their toxics, and a reset.

Toxiproxy sits between a service and a dependency and breaks the path on demand: a disabled
proxy refuses new connections and resets open ones (like a stopped server); toxics add latency,
cut bandwidth, or swallow every byte (``timeout`` with ``timeout: 0`` makes connections hang,
like a blackholed network). Every failure of the API, or of reaching it, is a ``BackendError``
naming the API's URL and the operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from stormcheck.clients.http import JsonApiClient

__all__ = ["Proxy", "Stream", "Toxic", "ToxiproxyClient"]

Stream = Literal["upstream", "downstream"]


@dataclass(frozen=True, slots=True)
class Toxic:
    """A toxic on one direction of a proxy (``downstream``: from the upstream to the client)."""

    name: str
    type: str
    stream: Stream
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Toxic:
        """Build from the API's JSON object."""
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            stream=data["stream"],
            toxicity=float(data["toxicity"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True, slots=True)
class Proxy:
    """A proxy as the API reports it; ``listen`` is the bound address once enabled."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @property
    def host(self) -> str:
        """The host part of ``listen``."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """The port part of ``listen`` (the real one, also when created with port 0)."""
        return int(self.listen.rpartition(":")[2])

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Proxy:
        """Build from the API's JSON object."""
        return cls(
            name=str(data["name"]),
            listen=str(data["listen"]),
            upstream=str(data["upstream"]),
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_api(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient(JsonApiClient):
    """Talks to one Toxiproxy server, e.g. ``ToxiproxyClient("http://127.0.0.1:8474")``."""

    service = "toxiproxy"
    default_timeout = 5.0

    def _request(
        self, method: str, path: str, operation: str, body: dict[str, Any] | None = None
    ) -> Any:
        response = self._send(method, path, operation, json=body)
        if response.is_error:
            raise self._error(
                operation,
                f"failed with HTTP {response.status_code}: {_error_message(response)}",
            )
        if response.status_code == httpx.codes.NO_CONTENT or not response.content:
            return None
        return self._json(response, operation)

    def version(self) -> str:
        """The server's version, e.g. ``"2.12.0"`` (also a liveness check)."""
        return str(self._request("GET", "/version", "version")["version"])

    def proxies(self) -> dict[str, Proxy]:
        """Every proxy, by name."""
        data = self._request("GET", "/proxies", "list proxies")
        return {name: Proxy.from_api(item) for name, item in data.items()}

    def create_proxy(
        self, name: str, upstream: str, *, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        """Create a proxy from ``listen`` (port 0: any free port) to ``upstream`` (``host:port``)."""
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy.from_api(self._request("POST", "/proxies", f"create proxy {name!r}", body))

    def get_proxy(self, name: str) -> Proxy:
        """One proxy, with its toxics."""
        return Proxy.from_api(self._request("GET", f"/proxies/{name}", f"get proxy {name!r}"))

    def delete_proxy(self, name: str) -> None:
        """Delete a proxy; its listener closes and its connections are cut."""
        self._request("DELETE", f"/proxies/{name}", f"delete proxy {name!r}")

    def enable(self, name: str) -> Proxy:
        """Listen and forward again (on the same address)."""
        return self._set_enabled(name, True)

    def disable(self, name: str) -> Proxy:
        """Stop listening and close every open connection: like a stopped upstream server."""
        return self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> Proxy:
        verb = "enable" if enabled else "disable"
        data = self._request(
            "PATCH", f"/proxies/{name}", f"{verb} proxy {name!r}", {"enabled": enabled}
        )
        return Proxy.from_api(data)

    def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        """Add a toxic (``latency``, ``timeout``, ``bandwidth``, ...) to one direction of a proxy.

        It applies to open connections too. ``name`` defaults to ``<type>_<stream>``.
        """
        body = {
            "name": name or f"{type}_{stream}",
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        operation = f"add {type} toxic to proxy {proxy!r}"
        return Toxic.from_api(self._request("POST", f"/proxies/{proxy}/toxics", operation, body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove one toxic from a proxy."""
        self._request(
            "DELETE", f"/proxies/{proxy}/toxics/{name}", f"remove toxic {name!r} of proxy {proxy!r}"
        )

    def reset(self) -> None:
        """Enable every proxy and remove every toxic (proxies themselves stay)."""
        self._request("POST", "/reset", "reset")


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:200]
