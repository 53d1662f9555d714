"""The OpenSearch backend of the log store (opensearch-py), plus the writes the platform needs.

Reads implement :class:`~stormcheck.logstore.store.LogStore`. Two writes sit beside them for the
platform and the tests, not for judging: installing the composable index template and indexing
documents with ``_bulk``; and one export, :meth:`OpenSearchStore.scan`, which reads every
document of an index pattern (a scroll) for the evidence a run keeps after ``down``. Every client exception becomes a :class:`BackendError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import opensearchpy
import opensearchpy.helpers
from opensearchpy import OpenSearch

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

__all__ = ["OpenSearchStore"]


class OpenSearchStore:
    """A :class:`~stormcheck.logstore.store.LogStore` on an OpenSearch cluster at ``url``."""

    name = "opensearch"

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url
        # no retries: an unreachable store must be reported now, as inconclusive, not hidden
        self._client = OpenSearch(hosts=[url], timeout=timeout_s, max_retries=0)

    def _call[T](self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except opensearchpy.exceptions.OpenSearchException as exc:
            raise BackendError(f"opensearch at {self.url}: {what}: {exc}") from exc

    def info(self) -> Mapping[str, Any]:
        """``GET /``: name, cluster and version (``version.distribution`` is ``opensearch``)."""
        return dict(self._call("GET /", self._client.info))

    def count(self, query: LogQuery) -> int:
        """How many documents match ``query``."""
        answer = self._call(
            f"count {query.describe()}",
            lambda: self._client.count(index=query.index, body={"query": query.filter_clause()}),
        )
        try:
            return int(answer["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(f"opensearch at {self.url}: a count answer without count") from exc

    def search(self, query: LogQuery, *, size: int = 100) -> tuple[LogRecord, ...]:
        """Up to ``size`` matching documents, oldest first."""
        where = f"opensearch at {self.url}: search {query.describe()}"
        answer = self._call(
            f"search {query.describe()}",
            lambda: self._client.search(index=query.index, body=search_body(query, size)),
        )
        return parse_hits(answer, where)

    def aggregate(self, query: LogQuery, aggregation: Aggregation) -> tuple[Bucket, ...]:
        """The buckets of ``aggregation`` over the documents matching ``query``."""
        body = {
            "query": query.filter_clause(),
            "size": 0,
            "aggs": {AGGREGATION_NAME: aggregation.body(query.window)},
        }
        what = f"aggregate {query.describe()}"
        answer = self._call(what, lambda: self._client.search(index=query.index, body=body))
        return parse_buckets(answer, f"opensearch at {self.url}: {what}")

    def newest_ms(self, index: str) -> int | None:
        """The ``@timestamp`` of the newest document in ``index``."""
        body = {"size": 0, "aggs": {"newest": {"max": {"field": TIMESTAMP_FIELD}}}}
        answer = self._call(
            f"newest document of {index}", lambda: self._client.search(index=index, body=body)
        )
        return parse_newest(answer, f"opensearch at {self.url}: newest document of {index}")

    def put_index_template(self, name: str, template: Mapping[str, Any]) -> None:
        """Install (or replace) the composable index template ``name``."""
        self._call(
            f"PUT _index_template/{name}",
            lambda: self._client.indices.put_index_template(name=name, body=dict(template)),
        )

    def index_documents(
        self, index: str, documents: Iterable[Mapping[str, Any]], *, refresh: bool = True
    ) -> int:
        """Index ``documents`` into ``index`` with one ``_bulk``; return how many were indexed.

        Raises :class:`BackendError` when the request fails or any item is rejected.
        """
        lines: list[Mapping[str, Any]] = []
        for document in documents:
            lines += [{"index": {"_index": index}}, document]
        if not lines:
            return 0
        answer = self._call(
            f"_bulk into {index}",
            lambda: self._client.bulk(body=lines, refresh="true" if refresh else "false"),
        )
        if answer.get("errors"):
            first = next(
                (i["index"]["error"] for i in answer["items"] if "error" in i["index"]), None
            )
            raise BackendError(f"opensearch at {self.url}: _bulk into {index} rejected: {first}")
        return len(lines) // 2

    def scan(self, index: str, *, page_size: int = 2000) -> Iterator[LogRecord]:
        """Every document of ``index`` (a name or pattern), in no particular order (a scroll).

        Each record's ``at_ms`` is its ``@timestamp`` as epoch ms. :class:`BackendError` when the
        scroll fails or a document has no ``@timestamp``.
        """
        where = f"opensearch at {self.url}: scan {index}"
        body = {
            "query": {"match_all": {}},
            "docvalue_fields": [{"field": TIMESTAMP_FIELD, "format": "epoch_millis"}],
        }
        hits = opensearchpy.helpers.scan(
            self._client, query=body, index=index, size=page_size, scroll="2m"
        )
        try:
            for hit in hits:
                try:
                    at = hit["fields"][TIMESTAMP_FIELD][0]
                    at_ms = int(float(at))
                except (KeyError, IndexError, TypeError, ValueError):
                    raise BackendError(
                        f"{where}: document {hit.get('_id')!r} has no {TIMESTAMP_FIELD}"
                    ) from None
                yield LogRecord(
                    index=str(hit["_index"]),
                    doc_id=str(hit["_id"]),
                    at_ms=at_ms,
                    fields=dict(hit.get("_source") or {}),
                )
        except opensearchpy.exceptions.OpenSearchException as exc:
            raise BackendError(f"{where}: {exc}") from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
