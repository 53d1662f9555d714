"""The registry of log store backends, by the name settings and profiles use."""

from __future__ import annotations

from collections.abc import Callable

from stormcheck.errors import ConfigError
from stormcheck.logstore.elasticsearch_backend import ElasticsearchStore
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.logstore.store import LogStore

__all__ = ["BACKENDS", "connect"]

BACKENDS: dict[str, Callable[[str], LogStore]] = {
    "opensearch": OpenSearchStore,
    "elasticsearch": ElasticsearchStore,
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
