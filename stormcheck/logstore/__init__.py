"""Log queries over Elasticsearch or OpenSearch, checked for freshness.

No Docker here: the local platform's OpenSearch node and log shipper are declared in
:mod:`stormcheck.local.logstore`.

- :mod:`~stormcheck.logstore.query`: :class:`LogQuery` (window + filters) and aggregations;
- :mod:`~stormcheck.logstore.store`: the :class:`LogStore` protocol and its records;
- :mod:`~stormcheck.logstore.opensearch_backend` / :mod:`~stormcheck.logstore.elasticsearch_backend`;
- :mod:`~stormcheck.logstore.backends`: the registry, :func:`connect`;
- :mod:`~stormcheck.logstore.reader`: :class:`LogReader`, whose answers are ``inconclusive`` when
  the logs do not cover the window;
- :mod:`~stormcheck.logstore.template`: the index template shared with the shipper and Helm;
- :mod:`~stormcheck.logstore.ingestion`: :class:`~stormcheck.logstore.ingestion.IngestionWatch`,
  the measured lag from an API response to its log line being searchable.
"""

from __future__ import annotations

from stormcheck.logstore.backends import BACKENDS, connect
from stormcheck.logstore.query import DateHistogram, LogQuery, Terms
from stormcheck.logstore.reader import LogAnswer, LogReader
from stormcheck.logstore.store import Bucket, LogRecord, LogStore

__all__ = [
    "BACKENDS",
    "Bucket",
    "DateHistogram",
    "LogAnswer",
    "LogQuery",
    "LogReader",
    "LogRecord",
    "LogStore",
    "Terms",
    "connect",
]
