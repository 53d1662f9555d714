"""Errors that map to HTTP answers with a JSON body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A client-visible error: HTTP status, stable machine code, human message."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class DependencyUnavailable(Exception):
    """PostgreSQL or Redis could not serve a request that needs it (answered with 503)."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason


class CircuitOpen(DependencyUnavailable):
    """The dependency was not called at all: its circuit breaker is open."""

    def __init__(self, dependency: str) -> None:
        super().__init__(dependency, "circuit breaker open")
