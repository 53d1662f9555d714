"""The one base of the engine's JSON-API clients (Prometheus, Alertmanager, Toxiproxy).

A client talks to one server: ``url`` without a trailing slash, an :class:`httpx.Client` with a
timeout (and an optional transport, for tests), ``close()`` and use as a context manager. Every
failure is a :class:`~stormcheck.errors.BackendError` that names the service, the server and the
operation: unreachable (``failed: ConnectError: ...``), an answer that is not JSON, or whatever
the subclass finds wrong in the answer it got.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import httpx

from stormcheck.errors import BackendError

__all__ = ["JsonApiClient"]


class JsonApiClient:
    """Base of a typed client of one JSON HTTP API; subclasses name their ``service``."""

    service: ClassVar[str] = "server"
    default_timeout: ClassVar[float] = 10.0

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=self.default_timeout if timeout is None else timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, operation: str, detail: str) -> BackendError:
        """``<service> at <url>: <operation> <detail>``."""
        return BackendError(f"{self.service} at {self.url}: {operation} {detail}")

    def _send(self, method: str, path: str, operation: str, **kwargs: Any) -> httpx.Response:
        """The response to one request; :class:`BackendError` when none came."""
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._error(operation, f"failed: {type(exc).__name__}: {exc}") from exc

    def _json(self, response: httpx.Response, operation: str, what: str = "JSON") -> Any:
        """The decoded body; :class:`BackendError` when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise self._error(
                operation,
                f"answered HTTP {response.status_code} with a body that is not {what}:"
                f" {response.text[:200]!r}",
            ) from None

    def _answers_ok(self, path: str) -> bool:
        """Whether ``path`` answers 200 (``False`` also when unreachable; never raises)."""
        try:
            return self._http.get(path).status_code == httpx.codes.OK
        except httpx.HTTPError:
            return False
