"""Per-request context: correlation id, metrics, the access log line, last-resort 500s."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.logs import request_id_var
from shop.metrics import Metrics

log = logging.getLogger("shop.access")
error_log = logging.getLogger("shop.error")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Routes polled by orchestrators and Prometheus: logged at DEBUG unless they fail.
_PROBE_ROUTES = frozenset({"/health", "/ready", "/metrics"})
UNMATCHED_ROUTE = "<unmatched>"


def incoming_request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane (1-128 safe characters), else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would break context variables)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        self.metrics.in_flight.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # the last resort: log it, answer 500, keep serving
            error_log.exception("unhandled error", extra={"path": scope.get("path")})
            status = 500
            if not response_started:
                await _send_internal_error(send, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route_obj = scope.get("route")
            route = getattr(route_obj, "path_format", UNMATCHED_ROUTE)
            method = scope.get("method", "")
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            level = logging.DEBUG if route in _PROBE_ROUTES and status < 400 else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "method": method,
                    "path": scope.get("path"),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)


async def _send_internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {"error": {"code": "internal_error", "message": "internal server error"}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
