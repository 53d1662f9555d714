"""A ratio SLI answered by the log store: good and total are counts of log lines.

In OpenSLO v1 a ratio indicator's ``good`` and ``total`` each name a ``metricSource`` whose
``spec`` belongs to its ``type``. For ``type: OpenSearch`` (or ``Elasticsearch`` — the same query
DSL, another client) the engine reads a structured spec rather than raw query DSL, so every field
can be checked against the log index template before anything is asked::

    good:
      metricSource:
        type: OpenSearch
        spec:
          index: logs-*                 # an index pattern of the log index template
          filters:                      # exact matches on keyword fields (or status)
            logger: shop.access
            route: /api/v1/orders
            method: POST
          status: {gte: 100, lt: 500}   # optional: gte <= status < lt

The count over a window ``[A, B)`` is the number of documents with ``@timestamp`` in it that
match every filter (:class:`~stormcheck.logstore.query.LogQuery`). ``good`` must select a subset
of ``total`` (same index, the same filters and possibly more, a status range inside total's),
which the loader checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stormcheck.verdict import Window

if TYPE_CHECKING:
    from stormcheck.logstore.query import LogQuery

__all__ = ["LOG_SOURCE_TYPES", "LogRatioSli", "LogSelector"]

#: OpenSLO ``metricSource.type`` (lower-cased) → the log store backend that answers it.
LOG_SOURCE_TYPES: dict[str, str] = {"opensearch": "opensearch", "elasticsearch": "elasticsearch"}


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSelector:
    """Which log lines to count: an index pattern, exact-match filters, an optional status range."""

    index: str
    filters: Mapping[str, str | int] = field(default_factory=dict)
    status_range: tuple[int, int] | None = None

    def query(self, window: Window) -> LogQuery:
        """The :class:`LogQuery` counting these lines in ``window``."""
        # imported here: stormcheck.logstore loads both search clients (~1.5 s), which every
        # CLI start would pay through stormcheck.slo
        from stormcheck.logstore.query import LogQuery

        query = LogQuery(window=window, index=self.index, terms=dict(self.filters))
        if self.status_range is not None:
            query = query.status_between(*self.status_range)
        return query

    def describe(self) -> str:
        """One line, window left out: ``logs-* logger=shop.access status in [100, 500)``."""
        parts = [self.index, *(f"{k}={v}" for k, v in sorted(self.filters.items()))]
        if self.status_range is not None:
            parts.append(f"status in [{self.status_range[0]}, {self.status_range[1]})")
        return " ".join(parts)

    def subset_problem(self, total: LogSelector) -> str | None:
        """Why these lines are not a subset of ``total``'s (``None`` when they are)."""
        if self.index != total.index:
            return f"good reads index {self.index!r} but total reads {total.index!r}"
        for name, value in sorted(total.filters.items()):
            if self.filters.get(name) != value:
                return f"good lacks total's filter {name}={value}"
        if total.status_range is not None:
            low, high = total.status_range
            if self.status_range is None or not (
                low <= self.status_range[0] and self.status_range[1] <= high
            ):
                return f"good's status range is not inside total's [{low}, {high})"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRatioSli:
    """good/total over log lines, answered by the log store ``backend`` (``opensearch``, ...)."""

    backend: str
    good: LogSelector
    total: LogSelector
