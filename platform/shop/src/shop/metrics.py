"""Prometheus metric families of the service, in a registry of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Latency buckets (seconds) dense around the SLO thresholds (p95 ≤ 300 ms, p99 ≤ 1 s).
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
    0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)  # fmt: skip


class _PoolCollector(Collector):
    """Reads the database pool's statistics at scrape time."""

    def __init__(self, stats: Callable[[], Mapping[str, int]]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        size = stats.get("pool_size", 0)
        available = stats.get("pool_available", 0)
        connections = GaugeMetricFamily(
            "shop_db_pool_connections", "Database pool connections by state.", labels=["state"]
        )
        connections.add_metric(["in_use"], size - available)
        connections.add_metric(["idle"], available)
        yield connections
        yield GaugeMetricFamily(
            "shop_db_pool_max_connections",
            "Configured maximum size of the database pool.",
            value=stats.get("pool_max", 0),
        )
        yield GaugeMetricFamily(
            "shop_db_pool_waiting_requests",
            "Requests waiting for a database connection.",
            value=stats.get("requests_waiting", 0),
        )


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class _LevelCounter(logging.Handler):
    """Counts log records by level; writes nothing."""

    def __init__(self, counter: Counter) -> None:
        super().__init__(level=logging.DEBUG)
        self._counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        """Count ``record`` under its level name."""
        self._counter.labels(record.levelname.lower()).inc()


class Metrics:
    """All metric families; one instance per application."""

    def __init__(self, replica: str, zone: str, version: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        info = Gauge(
            "shop_build_info",
            "Constant 1, labelled with the replica's identity.",
            ["version", "replica", "zone"],
            registry=r,
        )
        info.labels(version, replica, zone).set(1)
        self.requests = Counter(
            "shop_http_requests_total",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "shop_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "shop_http_requests_in_flight", "HTTP requests being served.", registry=r
        )
        self.cache = Counter(
            "shop_cache_requests_total",
            "Catalogue cache lookups by result (hit, miss, error, bypass).",
            ["result"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "shop_cache_breaker_state",
            "Redis circuit breaker: 0 closed, 1 open, 2 half-open.",
            registry=r,
        )
        self.orders = Counter("shop_orders_created_total", "Orders committed.", registry=r)
        self.order_replays = Counter(
            "shop_order_replays_total",
            "Checkouts answered with an existing order (same key and body).",
            registry=r,
        )
        self.dependency_errors = Counter(
            "shop_dependency_errors_total",
            "Failed calls to a dependency.",
            ["dependency", "kind"],
            registry=r,
        )
        self.ready = Gauge("shop_ready", "1 when the replica reports ready.", registry=r)
        self.log_messages = Counter(
            "shop_log_messages_total",
            "Log lines written, by level (the error-log rate, without a log store).",
            ["level"],
            registry=r,
        )

        # Create every known series at zero, so rate() and absence alerts work from the start.
        for result in ("hit", "miss", "error", "bypass"):
            self.cache.labels(result)
        for dependency in ("postgres", "redis"):
            for kind in ("error", "timeout"):
                self.dependency_errors.labels(dependency, kind)
        for level in LOG_LEVELS:
            self.log_messages.labels(level)

    def count_logs(self) -> logging.Handler:
        """A logging handler that counts every record by level into ``shop_log_messages_total``."""
        return _LevelCounter(self.log_messages)

    def watch_pool(self, stats: Callable[[], Mapping[str, int]]) -> None:
        """Export the database pool's usage, read from `stats` at every scrape."""
        self.registry.register(_PoolCollector(stats))
