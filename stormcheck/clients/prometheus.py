"""A typed client of Prometheus' HTTP API (v1): instant and range queries, readiness, build info.

Results come back as typed values: an instant query gives a :class:`Vector` (a tuple of
:class:`Sample`) or a :class:`Scalar`; a range query gives a :class:`Matrix` (a tuple of
:class:`Series`). Every failure — Prometheus unreachable, an HTTP error, a PromQL error
(``bad_data``, ``execution``, ``timeout``) or an answer that is not the API's JSON — is a
:class:`~stormcheck.errors.BackendError` naming the server and what was asked. Timestamps are
UTC epoch seconds as floats, as the API uses them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from stormcheck.clients.http import JsonApiClient
from stormcheck.errors import BackendError

__all__ = [
    "Matrix",
    "PrometheusClient",
    "QueryResult",
    "Sample",
    "Scalar",
    "Series",
    "Vector",
]


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector: a labelled value at a time."""

    labels: Mapping[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True, slots=True)
class Series:
    """One element of a range-query matrix: a labelled series of ``(timestamp, value)`` points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar result (e.g. of ``scalar(...)`` or a number literal)."""

    value: float
    timestamp: float


@dataclass(frozen=True, slots=True)
class Vector:
    """An instant-vector result; empty when no series matched ("no data")."""

    samples: tuple[Sample, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.samples)

    def single_value(self) -> float | None:
        """The value of the only sample, ``None`` when empty; :class:`BackendError` if several."""
        if not self.samples:
            return None
        if len(self.samples) > 1:
            labels = ", ".join(str(dict(s.labels)) for s in self.samples[:3])
            raise BackendError(f"expected one series, got {len(self.samples)}: {labels}")
        return self.samples[0].value


@dataclass(frozen=True, slots=True)
class Matrix:
    """A range-query result."""

    series: tuple[Series, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.series)


QueryResult = Vector | Scalar


def _number(text: Any) -> float:
    # Prometheus encodes sample values as strings, including "NaN", "+Inf" and "-Inf".
    try:
        return float(text)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"sample value {text!r} is not a number") from exc


class PrometheusClient(JsonApiClient):
    """Talks to one Prometheus server, e.g. ``PrometheusClient("http://127.0.0.1:9090")``."""

    service = "prometheus"

    def _get(self, path: str, operation: str, params: dict[str, str] | None = None) -> Any:
        response = self._send("GET", path, operation, params=params)
        body = self._json(response, operation, "the API's JSON")
        if not isinstance(body, dict):
            raise self._error(
                operation,
                f"answered HTTP {response.status_code} with a body that is not the API's JSON:"
                f" {response.text[:200]!r}",
            )
        if body.get("status") != "success" or response.status_code != httpx.codes.OK:
            raise self._error(
                operation,
                f"failed with HTTP {response.status_code}"
                f" ({body.get('errorType', 'error')}): {body.get('error', response.text[:200])}",
            )
        return body.get("data")

    def ready(self) -> bool:
        """Whether ``/-/ready`` answers 200 (``False`` also when unreachable; never raises)."""
        return self._answers_ok("/-/ready")

    def build_info(self) -> dict[str, str]:
        """The server's build information (``version``, ``revision``, ...)."""
        data = self._get("/api/v1/status/buildinfo", "build info")
        return {str(k): str(v) for k, v in dict(data).items()}

    def query(self, expr: str, at: float | None = None) -> QueryResult:
        """Evaluate ``expr`` at ``at`` (epoch seconds; ``None``: the server's now).

        Returns a :class:`Vector` or a :class:`Scalar`; raises :class:`BackendError` on any
        failure, including a PromQL error.
        """
        params = {"query": expr}
        if at is not None:
            params["time"] = _format_time(at)
        data = self._get("/api/v1/query", f"query {expr!r}", params)
        return self._instant_result(data, expr)

    def query_vector(self, expr: str, at: float | None = None) -> Vector:
        """:meth:`query` for an expression that must give an instant vector."""
        result = self.query(expr, at)
        if not isinstance(result, Vector):
            raise BackendError(
                f"prometheus at {self.url}: query {expr!r} gave a scalar, not a vector"
            )
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> Matrix:
        """Evaluate ``expr`` every ``step`` seconds from ``start`` to ``end`` (epoch seconds)."""
        if not step > 0 or not math.isfinite(step):
            raise ValueError(f"step must be a positive number of seconds, got {step!r}")
        params = {
            "query": expr,
            "start": _format_time(start),
            "end": _format_time(end),
            "step": _format_time(step),
        }
        data = self._get("/api/v1/query_range", f"range query {expr!r}", params)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise BackendError(f"prometheus at {self.url}: range query {expr!r}: not a matrix")
        try:
            return Matrix(
                tuple(
                    Series(
                        labels=dict(item.get("metric", {})),
                        points=tuple((float(t), _number(v)) for t, v in item["values"]),
                    )
                    for item in data["result"]
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(
                f"prometheus at {self.url}: range query {expr!r}: malformed result ({exc})"
            ) from exc

    def _instant_result(self, data: Any, expr: str) -> QueryResult:
        try:
            kind = data["resultType"]
            result = data["result"]
            if kind == "vector":
                return Vector(
                    tuple(
                        Sample(
                            labels=dict(item.get("metric", {})),
                            value=_number(item["value"][1]),
                            timestamp=float(item["value"][0]),
                        )
                        for item in result
                    )
                )
            if kind == "scalar":
                return Scalar(value=_number(result[1]), timestamp=float(result[0]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BackendError(
                f"prometheus at {self.url}: query {expr!r}: malformed result ({exc})"
            ) from exc
        raise BackendError(f"prometheus at {self.url}: query {expr!r}: result type {kind!r}")


def _format_time(seconds: float) -> str:
    # Millisecond precision, which is Prometheus' own; repr() of a float could be 1e-05.
    return f"{seconds:.3f}"
