"""The alert sink: an HTTP receiver the harness runs, registered as Alertmanager's webhook.

Every notification is kept in memory and each alert in it goes on the run's timeline as
``alert_firing`` or ``alert_resolved`` at the moment it was received (UTC epoch ms), with
Alertmanager's own ``startsAt``/``endsAt`` beside it — so time to detect is "first firing
notification received after the fault started", measured on the harness's clock.

The sink listens on one address only. On the local platform that is the run network's gateway
(the host as the containers see it), so Alertmanager reaches it and nothing outside the host does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stormcheck.errors import BackendError, ConfigError
from stormcheck.timeline import EventKind, Timeline, now_ms

__all__ = ["ALERTS_PATH", "AlertSink", "Notification", "ReceivedAlert", "parse_time_ms"]

ALERTS_PATH = "/alerts"
_MAX_BODY = 4 * 1024 * 1024


def parse_time_ms(text: str) -> int | None:
    """An Alertmanager RFC 3339 time as epoch ms; ``None`` for Go's zero time (no end yet)."""
    if not text or text.startswith("0001-01-01"):
        return None
    head, _, rest = text.partition(".")
    fraction, zone = "", rest
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
    stamp = head + ("." + fraction[:6] if fraction else "") + (zone or "")
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"not an RFC 3339 time: {text!r}") from exc
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedAlert:
    """One alert of a notification."""

    name: str
    status: str  # "firing" or "resolved"
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at_ms: int | None
    ends_at_ms: int | None
    fingerprint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One webhook call from Alertmanager, as received."""

    received_ms: int
    receiver: str
    status: str
    group_key: str
    alerts: tuple[ReceivedAlert, ...]


def _parse(body: bytes) -> Notification:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ConfigError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise ConfigError("webhook body is not an Alertmanager notification (no `alerts` list)")
    alerts = []
    for index, item in enumerate(data["alerts"]):
        if not isinstance(item, dict) or not isinstance(item.get("labels"), dict):
            raise ConfigError(f"webhook body: alerts[{index}] has no `labels` mapping")
        labels = {str(k): str(v) for k, v in item["labels"].items()}
        alerts.append(
            ReceivedAlert(
                name=labels.get("alertname", ""),
                status=str(item.get("status", data.get("status", ""))),
                labels=labels,
                annotations={str(k): str(v) for k, v in (item.get("annotations") or {}).items()},
                starts_at_ms=parse_time_ms(str(item.get("startsAt", ""))),
                ends_at_ms=parse_time_ms(str(item.get("endsAt", ""))),
                fingerprint=str(item.get("fingerprint", "")),
            )
        )
    return Notification(
        received_ms=now_ms(),
        receiver=str(data.get("receiver", "")),
        status=str(data.get("status", "")),
        group_key=str(data.get("groupKey", "")),
        alerts=tuple(alerts),
    )


_SHUTDOWN_POLL_S = 0.05


class AlertSink:
    """An Alertmanager webhook receiver on ``host`` (port 0: a free one), writing to ``timeline``.

    Use as a context manager, or :meth:`start` / :meth:`stop` (stop never raises).
    """

    def __init__(
        self, timeline: Timeline | None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.timeline = timeline
        self._notifications: list[Notification] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where to send notifications, e.g. ``http://172.18.0.1:40123/alerts``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{ALERTS_PATH}"

    def start(self) -> AlertSink:
        """Serve in a background thread; return self."""
        # serve_forever polls for shutdown every poll_interval (0.5 s by default): stop() would
        # wait that long, on every experiment run that hosts the sink
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_S},
            name="alert-sink",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; never raises."""
        try:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        except OSError:
            pass

    def __enter__(self) -> AlertSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def notifications(self) -> list[Notification]:
        """Every notification received so far, in order of arrival."""
        with self._changed:
            return list(self._notifications)

    def receive(self, body: bytes) -> Notification:
        """Record one webhook body (what the HTTP handler calls); :class:`ConfigError` if bad."""
        notification = _parse(body)
        with self._changed:
            self._notifications.append(notification)
            if self.timeline is not None:
                for alert in notification.alerts:
                    self.timeline.record(
                        EventKind.ALERT_RESOLVED
                        if alert.status == "resolved"
                        else EventKind.ALERT_FIRING,
                        alert.name,
                        at_ms=notification.received_ms,
                        receiver=notification.receiver,
                        severity=alert.labels.get("severity", ""),
                        labels=dict(alert.labels),
                        starts_at_ms=alert.starts_at_ms,
                        ends_at_ms=alert.ends_at_ms,
                        fingerprint=alert.fingerprint,
                        source="alert-sink",
                    )
            self._changed.notify_all()
        return notification

    def wait_for(
        self,
        predicate: Callable[[ReceivedAlert], bool],
        *,
        timeout_s: float,
        after_ms: int = 0,
    ) -> tuple[Notification, ReceivedAlert]:
        """The first received alert (in a notification received at/after ``after_ms``) matching
        ``predicate``; :class:`BackendError` if none arrives within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for notification in self._notifications:
                    if notification.received_ms < after_ms:
                        continue
                    for alert in notification.alerts:
                        if predicate(alert):
                            return notification, alert
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted(
                        {f"{a.name}:{a.status}" for n in self._notifications for a in n.alerts}
                    )
                    raise BackendError(
                        f"alert sink at {self.url}: no matching alert within {timeout_s:g} s;"
                        f" received: {', '.join(seen) or 'nothing'}"
                    )
                self._changed.wait(timeout=left)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != ALERTS_PATH:
                    self._answer(HTTPStatus.NOT_FOUND, {"error": f"POST {ALERTS_PATH} only"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too large"})
                    return
                try:
                    notification = sink.receive(self.rfile.read(length))
                except ConfigError as exc:
                    self._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                    return
                self._answer(HTTPStatus.OK, {"alerts": len(notification.alerts)})

            def do_GET(self) -> None:
                self._answer(HTTPStatus.OK, {"notifications": len(sink.notifications)})

            def _answer(self, status: HTTPStatus, body: Mapping[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the timeline is the log

        return Handler
