"""The log store seam: what the harness asks of Elasticsearch or OpenSearch, and what comes back.

A backend implements :class:`LogStore` with four reads; every failure to answer (unreachable,
an HTTP error, a query the server rejects, an answer of the wrong shape) is a
:class:`~stormcheck.errors.BackendError` naming the backend and the query. Backends never judge
freshness: :mod:`stormcheck.logstore.reader` does, so that a stale answer is ``inconclusive``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from stormcheck.errors import BackendError
from stormcheck.logstore.query import TIMESTAMP_FIELD, Aggregation, LogQuery

__all__ = [
    "AGGREGATION_NAME",
    "Bucket",
    "LogRecord",
    "LogStore",
    "parse_buckets",
    "parse_hits",
    "parse_newest",
    "search_body",
]

AGGREGATION_NAME = "by"


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log document: its index, id, time (UTC epoch ms) and fields."""

    index: str
    doc_id: str
    at_ms: int
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregation bucket: its key (epoch ms for a histogram, the value for terms) and count."""

    key: str | int
    count: int


class LogStore(Protocol):
    """The reads the harness needs from a log store."""

    name: str

    def count(self, query: LogQuery) -> int:
        """How many documents match ``query``; :class:`BackendError` when it cannot be answered."""
        ...

    def search(self, query: LogQuery, *, size: int = 100) -> tuple[LogRecord, ...]:
        """Up to ``size`` matching documents, oldest first."""
        ...

    def aggregate(self, query: LogQuery, aggregation: Aggregation) -> tuple[Bucket, ...]:
        """The buckets of ``aggregation`` over the matching documents."""
        ...

    def newest_ms(self, index: str) -> int | None:
        """The ``@timestamp`` of the newest document in ``index`` (``None``: no document at all)."""
        ...

    def close(self) -> None:
        """Release the connection pool."""
        ...


def search_body(query: LogQuery, size: int) -> dict[str, Any]:
    """The search request's keyword arguments (shared by both clients)."""
    return {
        "query": query.filter_clause(),
        "size": size,
        "sort": [{TIMESTAMP_FIELD: {"order": "asc"}}],
        "track_total_hits": True,
    }


def _epoch_ms(value: Any, where: str) -> int:
    if isinstance(value, int | float):
        return int(value)
    raise BackendError(f"{where}: expected epoch milliseconds, got {value!r}")


def parse_hits(answer: Mapping[str, Any], where: str) -> tuple[LogRecord, ...]:
    """The records of a search answer (sorted on ``@timestamp``, so ``sort[0]`` is epoch ms)."""
    try:
        return tuple(
            LogRecord(
                index=str(hit["_index"]),
                doc_id=str(hit["_id"]),
                at_ms=_epoch_ms(hit["sort"][0], where),
                fields=dict(hit.get("_source") or {}),
            )
            for hit in answer["hits"]["hits"]
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise BackendError(f"{where}: a search answer without hits ({exc!r})") from exc


def parse_buckets(answer: Mapping[str, Any], where: str) -> tuple[Bucket, ...]:
    """The buckets of the aggregation named :data:`AGGREGATION_NAME`."""
    try:
        buckets = answer["aggregations"][AGGREGATION_NAME]["buckets"]
        return tuple(Bucket(key=b["key"], count=int(b["doc_count"])) for b in buckets)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackendError(f"{where}: an aggregation answer without buckets ({exc!r})") from exc


def parse_newest(answer: Mapping[str, Any], where: str) -> int | None:
    """The value of the ``max`` aggregation on ``@timestamp`` (``None`` when no document)."""
    if "aggregations" not in answer and "hits" in answer:
        return None  # a pattern that matches no index yet answers without aggregations
    try:
        value = answer["aggregations"]["newest"]["value"]
    except (KeyError, TypeError) as exc:
        raise BackendError(f"{where}: an answer without the newest timestamp ({exc!r})") from exc
    return None if value is None else _epoch_ms(value, where)
