"""The request log: one JSON object per request attempt, written by the Locust plugin.

Each line (``requests.jsonl``) holds, in UTC epoch milliseconds::

    {"name": "GET /api/v1/products", "method": "GET", "intended_ms": ..., "sent_ms": ...,
     "end_ms": ..., "response_ms": ..., "status": 200, "bytes": 512, "ok": true, "error": null,
     "request_id": "9f1c...", "worker": "local",
     "checkout": {"key": "...", "attempt": 1, "outcome": "success", "order_id": 17, "final": true}}

``intended_ms`` is when the request was *due* (the open model's schedule; for a closed-model user,
when it decided to send), ``sent_ms`` when Locust actually sent it, ``response_ms`` the time Locust
itself measured. Latency is measured from the intended time, so a stalled server that delays the
schedule still shows up in the percentiles (no coordinated omission). ``checkout`` is present
only for checkout attempts.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError

__all__ = [
    "CheckoutAttempt",
    "CheckoutOutcome",
    "RequestRecord",
    "iter_request_log",
    "read_request_log",
]


class CheckoutOutcome(enum.StrEnum):
    """What one checkout attempt (or, when final, the key) came to."""

    SUCCESS = "success"  # 2xx with an order id: definitive
    REJECTED = "rejected"  # 4xx: definitive, no order may exist
    AMBIGUOUS = "ambiguous"  # timeout, reset or 5xx: the order may or may not exist; retried
    UNKNOWN = "unknown"  # still ambiguous after the last retry


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutAttempt:
    """The checkout part of a record: its idempotency key and what the attempt came to."""

    key: str
    attempt: int
    outcome: CheckoutOutcome
    order_id: int | None
    final: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "attempt": self.attempt,
            "outcome": self.outcome.value,
            "order_id": self.order_id,
            "final": self.final,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """One request attempt as the load generator saw it."""

    name: str
    method: str
    intended_ms: float
    sent_ms: float
    end_ms: float
    response_ms: float
    status: int
    bytes: int
    ok: bool
    request_id: str
    error: str | None = None
    worker: str = ""
    checkout: CheckoutAttempt | None = None

    @property
    def latency_ms(self) -> float:
        """Latency as users saw it: from the intended send time to the end."""
        return self.end_ms - self.intended_ms

    @property
    def lag_ms(self) -> float:
        """Schedule lag: how late the request left compared with when it was due."""
        return self.sent_ms - self.intended_ms

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one line."""
        data: dict[str, Any] = {
            "name": self.name,
            "method": self.method,
            "intended_ms": round(self.intended_ms, 3),
            "sent_ms": round(self.sent_ms, 3),
            "end_ms": round(self.end_ms, 3),
            "response_ms": round(self.response_ms, 3),
            "status": self.status,
            "bytes": self.bytes,
            "ok": self.ok,
            "error": self.error,
            "request_id": self.request_id,
            "worker": self.worker,
        }
        if self.checkout is not None:
            data["checkout"] = self.checkout.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RequestRecord:
        """Inverse of :meth:`to_dict`; raises KeyError/TypeError/ValueError on a bad object."""
        checkout = data.get("checkout")
        order_id = None if checkout is None else checkout.get("order_id")
        return cls(
            name=str(data["name"]),
            method=str(data["method"]),
            intended_ms=float(data["intended_ms"]),
            sent_ms=float(data["sent_ms"]),
            end_ms=float(data["end_ms"]),
            response_ms=float(data["response_ms"]),
            status=int(data["status"]),
            bytes=int(data["bytes"]),
            ok=_strict_bool(data["ok"]),
            error=None if data.get("error") is None else str(data["error"]),
            request_id=str(data["request_id"]),
            worker=str(data.get("worker", "")),
            checkout=None
            if checkout is None
            else CheckoutAttempt(
                key=str(checkout["key"]),
                attempt=int(checkout["attempt"]),
                outcome=CheckoutOutcome(checkout["outcome"]),
                order_id=None if order_id is None else int(order_id),
                final=_strict_bool(checkout["final"]),
            ),
        )


def _strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def iter_request_log(path: Path) -> Iterator[RequestRecord]:
    """The records of ``path`` one by one; :class:`ConfigError` names the line that is wrong."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"request log {path}: no such file") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield RequestRecord.from_dict(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"request log {path}, line {number}: not JSON ({exc})") from None
            except KeyError as exc:
                raise ConfigError(
                    f"request log {path}, line {number}: field {exc} is missing"
                ) from None
            except (TypeError, ValueError, AttributeError) as exc:
                raise ConfigError(f"request log {path}, line {number}: {exc}") from None


def read_request_log(path: Path) -> list[RequestRecord]:
    """Every record of the request log at ``path``, in file order."""
    return list(iter_request_log(path))
