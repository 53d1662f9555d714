"""The ASGI application: routes, error mapping, and the life cycle of the pools."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shop import __version__
from shop.api import Services, routes
from shop.breaker import CircuitBreaker
from shop.cache import CatalogueCache, RedisGateway, connect_redis
from shop.cart import CartStore
from shop.catalogue import Catalogue
from shop.checkout import Orders
from shop.database import DatabaseDeadlineExceeded, open_pool
from shop.errors import ApiError, DependencyUnavailable
from shop.metrics import Metrics
from shop.middleware import RequestContextMiddleware
from shop.openapi import openapi_document
from shop.readiness import Readiness
from shop.settings import Settings

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException only
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _unavailable(request: Request, dependency: str, reason: str) -> Response:
    log.warning(
        "dependency unavailable",
        extra={"dependency": dependency, "reason": reason, "path": request.url.path},
    )
    return JSONResponse(
        {"error": {"code": "dependency_unavailable", "message": f"{dependency} is unavailable"}},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _dependency_error(request: Request, exc: Exception) -> Response:
    if not isinstance(
        exc, DependencyUnavailable
    ):  # pragma: no cover - registered for DependencyUnavailable only
        raise exc
    return _unavailable(request, exc.dependency, exc.reason)


async def _database_error(request: Request, exc: Exception) -> Response:
    metrics: Metrics = request.app.state.metrics
    timeout = isinstance(exc, PoolTimeout | psycopg.errors.QueryCanceled | DatabaseDeadlineExceeded)
    metrics.dependency_errors.labels("postgres", "timeout" if timeout else "error").inc()
    return _unavailable(request, "postgres", f"{type(exc).__name__}: {exc}".strip())


async def health(request: Request) -> Response:
    """GET /health: the process serves requests (no dependency is checked)."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """GET /ready: 200 when this replica should get traffic, else 503; both with details."""
    readiness: Readiness = request.app.state.readiness
    ok, report = await readiness.report()
    return JSONResponse(report, status_code=200 if ok else 503)


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics in the Prometheus text format."""
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    """GET /openapi.json"""
    return JSONResponse(openapi_document())


async def debug_sleep(request: Request) -> Response:
    """GET /debug/sleep?seconds=s: hold a database connection in pg_sleep (shutdown tests)."""
    try:
        seconds = float(request.query_params.get("seconds", "1"))
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", "seconds must be a number") from exc
    if not 0 <= seconds <= 30:
        raise ApiError(400, "invalid_parameter", "seconds must be between 0 and 30")
    services: Services = request.app.state.services
    async with services.pool.connection() as conn:
        await conn.execute("SELECT pg_sleep(%s)", (seconds,))
    return JSONResponse({"slept_seconds": seconds})


def create_app(settings: Settings) -> Starlette:
    """Build the application; pools open in its lifespan, not here."""
    metrics = Metrics(settings.replica, settings.zone, __version__)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log_counter = metrics.count_logs()
        logging.getLogger().addHandler(log_counter)
        pool = await open_pool(settings)
        metrics.watch_pool(pool.get_stats)
        breaker = CircuitBreaker(
            settings.breaker_failure_threshold,
            settings.breaker_reset_seconds,
            on_change=lambda state: _breaker_changed(metrics, state.value, state.name),
        )
        gateway = RedisGateway(connect_redis(settings), breaker, metrics)
        app.state.readiness = Readiness(pool, gateway, metrics, settings.ready_timeout)
        app.state.services = Services(
            settings,
            metrics,
            pool,
            Catalogue(pool, CatalogueCache(gateway, metrics, settings.cache_ttl)),
            CartStore(gateway, settings.cart_ttl),
            Orders(pool),
        )
        log.info("started", extra={"version": __version__, "port": settings.port})
        try:
            yield
        finally:
            app.state.readiness.start_draining()
            await pool.close(timeout=5.0)
            await gateway.client.aclose()
            log.info("pools closed")
            logging.getLogger().removeHandler(log_counter)

    app_routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *routes(),
    ]
    if settings.debug_endpoints:
        app_routes.append(Route("/debug/sleep", debug_sleep, methods=["GET"]))
    app = Starlette(
        routes=app_routes,
        middleware=[Middleware(RequestContextMiddleware, metrics=metrics)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            DependencyUnavailable: _dependency_error,
            psycopg.OperationalError: _database_error,
            PoolTimeout: _database_error,
        },
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app


def _breaker_changed(metrics: Metrics, value: int, name: str) -> None:
    metrics.breaker_state.set(value)
    log.warning("redis circuit breaker changed state", extra={"breaker": name.lower()})
