"""A typed client of Alertmanager's HTTP API (v2): alerts, silences, status, readiness.

Every failure — Alertmanager unreachable, an HTTP error, an answer that is not the API's JSON —
is a :class:`~stormcheck.errors.BackendError` naming the server and what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from stormcheck.clients.http import JsonApiClient
from stormcheck.errors import BackendError

__all__ = ["Alert", "AlertmanagerClient", "Silence"]


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as Alertmanager holds it."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: str  # "active", "suppressed" or "unprocessed"
    starts_at: str
    ends_at: str
    fingerprint: str
    receivers: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    silenced_by: tuple[str, ...]

    @property
    def name(self) -> str:
        """The ``alertname`` label."""
        return self.labels.get("alertname", "")


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence: equality matchers over labels, a time range, who and why."""

    id: str
    matchers: Mapping[str, str]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str
    state: str


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertmanagerClient(JsonApiClient):
    """Talks to one Alertmanager, e.g. ``AlertmanagerClient("http://127.0.0.1:9093")``."""

    service = "alertmanager"

    def _call(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        response = self._send(method, path, operation, **kwargs)
        if response.status_code >= 400:
            raise self._error(
                operation, f"answered HTTP {response.status_code}: {response.text[:300]!r}"
            )
        if not response.content:
            return None
        return self._json(response, operation)

    def ready(self) -> bool:
        """Whether ``/-/ready`` answers 200 (``False`` also when unreachable; never raises)."""
        return self._answers_ok("/-/ready")

    def status(self) -> dict[str, Any]:
        """``/api/v2/status``: version, cluster and the configuration it runs (``config.original``)."""
        data = self._call("GET", "/api/v2/status", "status")
        if not isinstance(data, dict):
            raise BackendError(f"alertmanager at {self.url}: status is not a JSON object")
        return data

    def alerts(
        self, *, active: bool = True, silenced: bool = True, inhibited: bool = True
    ) -> list[Alert]:
        """The alerts Alertmanager holds."""
        params = {
            "active": str(active).lower(),
            "silenced": str(silenced).lower(),
            "inhibited": str(inhibited).lower(),
        }
        data = self._call("GET", "/api/v2/alerts", "list alerts", params=params)
        try:
            return [
                Alert(
                    labels=dict(item["labels"]),
                    annotations=dict(item.get("annotations") or {}),
                    state=str(item["status"]["state"]),
                    starts_at=str(item.get("startsAt", "")),
                    ends_at=str(item.get("endsAt", "")),
                    fingerprint=str(item.get("fingerprint", "")),
                    receivers=tuple(str(r["name"]) for r in item.get("receivers") or []),
                    inhibited_by=tuple(item["status"].get("inhibitedBy") or ()),
                    silenced_by=tuple(item["status"].get("silencedBy") or ()),
                )
                for item in data
            ]
        except (KeyError, TypeError) as exc:
            raise BackendError(
                f"alertmanager at {self.url}: malformed alert list ({exc})"
            ) from None

    def post_alerts(
        self,
        alerts: Sequence[Mapping[str, Any]],
    ) -> None:
        """Send alerts as Prometheus does: each ``{"labels": ..., "annotations": ...,
        "startsAt": ..., "endsAt": ...}`` (times RFC 3339; an ``endsAt`` in the past resolves)."""
        self._call("POST", "/api/v2/alerts", f"post {len(alerts)} alert(s)", json=list(alerts))

    def fire(
        self,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
        *,
        resolve: bool = False,
        starts_at: datetime | None = None,
    ) -> None:
        """Fire one alert (or, with ``resolve``, mark it resolved now)."""
        now = datetime.now(UTC)
        alert: dict[str, Any] = {
            "labels": dict(labels),
            "annotations": dict(annotations or {}),
            "startsAt": _rfc3339(starts_at or now - timedelta(seconds=1)),
        }
        if resolve:
            alert["endsAt"] = _rfc3339(now)
        self.post_alerts([alert])

    def silences(self) -> list[Silence]:
        """Every silence (active, pending and expired)."""
        data = self._call("GET", "/api/v2/silences", "list silences")
        try:
            return [
                Silence(
                    id=str(item["id"]),
                    matchers={str(m["name"]): str(m["value"]) for m in item["matchers"]},
                    starts_at=str(item["startsAt"]),
                    ends_at=str(item["endsAt"]),
                    created_by=str(item.get("createdBy", "")),
                    comment=str(item.get("comment", "")),
                    state=str(item["status"]["state"]),
                )
                for item in data
            ]
        except (KeyError, TypeError) as exc:
            raise BackendError(
                f"alertmanager at {self.url}: malformed silence list ({exc})"
            ) from None

    def silence(
        self, matchers: Mapping[str, str], *, duration: timedelta, created_by: str, comment: str
    ) -> str:
        """Silence alerts whose labels equal ``matchers`` for ``duration``; return its id."""
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        now = datetime.now(UTC)
        body = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in matchers.items()
            ],
            "startsAt": _rfc3339(now),
            "endsAt": _rfc3339(now + duration),
            "createdBy": created_by,
            "comment": comment,
        }
        data = self._call("POST", "/api/v2/silences", "create silence", json=body)
        if not isinstance(data, dict) or "silenceID" not in data:
            raise BackendError(
                f"alertmanager at {self.url}: create silence: no silenceID in {data!r}"
            )
        return str(data["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        """Expire a silence now."""
        self._call("DELETE", f"/api/v2/silence/{silence_id}", f"expire silence {silence_id}")
