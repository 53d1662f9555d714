"""The registry of log store backends, by the name settings and profiles use.

Each backend's client library is imported when that backend is first used: importing both search
clients costs seconds, which every CLI start that merely reads SLO files would otherwise pay.
"""

from __future__ import annotations

from collections.abc import Callable

from stormcheck.errors import ConfigError
from stormcheck.logstore.store import LogStore

__all__ = ["BACKENDS", "connect"]


def _opensearch(url: str) -> LogStore:
    from stormcheck.logstore.opensearch_backend import OpenSearchStore

    return OpenSearchStore(url)


def _elasticsearch(url: str) -> LogStore:
    from stormcheck.logstore.elasticsearch_backend import ElasticsearchStore

    return ElasticsearchStore(url)


BACKENDS: dict[str, Callable[[str], LogStore]] = {
    "opensearch": _opensearch,
    "elasticsearch": _elasticsearch,
}


def connect(backend: str, url: str) -> LogStore:
    """A :class:`LogStore` of kind ``backend`` at ``url``; :class:`ConfigError` on an unknown kind."""
    try:
        factory = BACKENDS[backend]
    except KeyError:
        raise ConfigError(
            f"log store backend {backend!r} is unknown; expected one of {', '.join(sorted(BACKENDS))}"
        ) from None
    return factory(url)
