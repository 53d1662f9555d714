"""The Elasticsearch backend of the log store (the official ``elasticsearch`` client, 8.x).

The 8.x client refuses servers that do not say they are Elasticsearch (the
``X-Elastic-Product`` header) and sends the compatibility media type
(``application/vnd.elasticsearch+json; compatible-with=8``); against OpenSearch it is tested
through a small compatibility proxy (``suites/logs/``). Every client exception becomes a
:class:`BackendError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import elastic_transport
import elasticsearch
from elasticsearch import Elasticsearch

from stormcheck.errors import BackendError
from stormcheck.logstore.query import TIMESTAMP_FIELD, Aggregation, LogQuery
from stormcheck.logstore.store import (
    AGGREGATION_NAME,
    Bucket,
    LogRecord,
    parse_buckets,
    parse_hits,
    parse_newest,
    search_body,
)

__all__ = ["ElasticsearchStore"]


class ElasticsearchStore:
    """A :class:`~stormcheck.logstore.store.LogStore` on an Elasticsearch cluster at ``url``."""

    name = "elasticsearch"

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url
        self._client = Elasticsearch(
            url, request_timeout=timeout_s, max_retries=0, retry_on_timeout=False
        )

    def _call(self, what: str, call: Callable[[], Any]) -> dict[str, Any]:
        try:
            return dict(call().body)
        except (elasticsearch.ApiError, elastic_transport.TransportError) as exc:
            raise BackendError(f"elasticsearch at {self.url}: {what}: {exc}") from exc

    def count(self, query: LogQuery) -> int:
        """How many documents match ``query``."""
        answer = self._call(
            f"count {query.describe()}",
            lambda: self._client.count(index=query.index, query=query.filter_clause()),
        )
        try:
            return int(answer["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(
                f"elasticsearch at {self.url}: a count answer without count"
            ) from exc

    def search(self, query: LogQuery, *, size: int = 100) -> tuple[LogRecord, ...]:
        """Up to ``size`` matching documents, oldest first."""
        what = f"search {query.describe()}"
        answer = self._call(
            what, lambda: self._client.search(index=query.index, **search_body(query, size))
        )
        return parse_hits(answer, f"elasticsearch at {self.url}: {what}")

    def aggregate(self, query: LogQuery, aggregation: Aggregation) -> tuple[Bucket, ...]:
        """The buckets of ``aggregation`` over the documents matching ``query``."""
        what = f"aggregate {query.describe()}"
        answer = self._call(
            what,
            lambda: self._client.search(
                index=query.index,
                query=query.filter_clause(),
                size=0,
                aggs={AGGREGATION_NAME: aggregation.body(query.window)},
            ),
        )
        return parse_buckets(answer, f"elasticsearch at {self.url}: {what}")

    def newest_ms(self, index: str) -> int | None:
        """The ``@timestamp`` of the newest document in ``index``."""
        what = f"newest document of {index}"
        answer = self._call(
            what,
            lambda: self._client.search(
                index=index, size=0, aggs={"newest": {"max": {"field": TIMESTAMP_FIELD}}}
            ),
        )
        return parse_newest(answer, f"elasticsearch at {self.url}: {what}")

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
