"""One query builder for the log store: a time window, exact-match filters, and what to compute.

A :class:`LogQuery` is immutable; ``where`` and ``status_between`` return a new query. The same
query becomes a count, a search or an aggregation request (the Elasticsearch query DSL, which
OpenSearch speaks too), so both backends send the same bodies. Field names are those of the
index template (``platform/observability/logs/index-template.json``); an unknown field is a
:class:`~stormcheck.errors.ConfigError` here, not an empty answer later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.timeline import iso_ms
from stormcheck.verdict import Window

__all__ = [
    "DEFAULT_INDEX",
    "KEYWORD_FIELDS",
    "LOG_FIELDS",
    "TIMESTAMP_FIELD",
    "Aggregation",
    "DateHistogram",
    "LogQuery",
    "Terms",
]

TIMESTAMP_FIELD = "@timestamp"
DEFAULT_INDEX = "logs-*"
#: Exact-match (keyword) fields: filters and terms aggregations use these.
KEYWORD_FIELDS = frozenset(
    {
        "level",
        "logger",
        "service",
        "replica",
        "zone",
        "request_id",
        "method",
        "path",
        "route",
        "container",
        "stream",
        "run",
        "role",
    }
)
#: Every field of the index template's mapping (a static test keeps the two equal).
LOG_FIELDS = KEYWORD_FIELDS | {
    TIMESTAMP_FIELD,
    "ts",
    "message",
    "status",
    "duration_ms",
    "exception",
    "partial",
}
_FILTERABLE = KEYWORD_FIELDS | {"status"}


def _check_field(name: str, allowed: frozenset[str], what: str) -> None:
    if name not in allowed:
        raise ConfigError(
            f"log query: {what} {name!r} is not a field of the log index template;"
            f" expected one of {', '.join(sorted(allowed))}"
        )


@dataclass(frozen=True, slots=True)
class DateHistogram:
    """Documents per fixed interval (``interval_s`` seconds) over the window."""

    interval_s: int

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ConfigError(f"date histogram: interval_s must be positive, got {self.interval_s}")

    def body(self, window: Window) -> dict[str, Any]:
        """The aggregation's DSL, with empty buckets from start to end of ``window``."""
        return {
            "date_histogram": {
                "field": TIMESTAMP_FIELD,
                "fixed_interval": f"{self.interval_s}s",
                "min_doc_count": 0,
                "extended_bounds": {"min": window.start_ms, "max": window.end_ms - 1},
            }
        }


@dataclass(frozen=True, slots=True)
class Terms:
    """Documents per value of a keyword field (or ``status``), the ``size`` most frequent."""

    field: str
    size: int = 20

    def __post_init__(self) -> None:
        _check_field(self.field, frozenset(_FILTERABLE), "terms field")

    def body(self, window: Window) -> dict[str, Any]:
        """The aggregation's DSL."""
        return {"terms": {"field": self.field, "size": self.size}}


Aggregation = DateHistogram | Terms


@dataclass(frozen=True, slots=True, kw_only=True)
class LogQuery:
    """Log documents of ``index`` (a pattern) with ``@timestamp`` in ``window``, matching filters."""

    window: Window
    index: str = DEFAULT_INDEX
    terms: Mapping[str, str | int] = field(default_factory=dict)
    status_range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name in self.terms:
            _check_field(name, frozenset(_FILTERABLE), "filter field")

    def where(self, **terms: str | int) -> LogQuery:
        """The same query, also requiring each field to equal its value exactly."""
        return replace(self, terms={**self.terms, **terms})

    def status_between(self, low: int, high: int) -> LogQuery:
        """The same query, also requiring ``low <= status < high`` (e.g. 500, 600)."""
        if high <= low:
            raise ConfigError(f"log query: status range [{low}, {high}) is empty")
        return replace(self, status_range=(low, high))

    def filter_clause(self) -> dict[str, Any]:
        """The DSL ``query``: a bool filter on the window and every condition."""
        clauses: list[dict[str, Any]] = [
            {
                "range": {
                    TIMESTAMP_FIELD: {
                        "gte": self.window.start_ms,
                        "lt": self.window.end_ms,
                        "format": "epoch_millis",
                    }
                }
            }
        ]
        clauses += [{"term": {name: value}} for name, value in sorted(self.terms.items())]
        if self.status_range is not None:
            low, high = self.status_range
            clauses.append({"range": {"status": {"gte": low, "lt": high}}})
        return {"bool": {"filter": clauses}}

    def describe(self) -> str:
        """A one-line, human-readable form of the query (for evidence and errors)."""
        parts = [f"{self.index} {iso_ms(self.window.start_ms)}..{iso_ms(self.window.end_ms)}"]
        parts += [f"{name}={value}" for name, value in sorted(self.terms.items())]
        if self.status_range is not None:
            parts.append(f"status in [{self.status_range[0]}, {self.status_range[1]})")
        return " ".join(parts)
