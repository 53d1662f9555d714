"""Reading a log-store ``metricSource.spec`` (``type: OpenSearch``/``Elasticsearch``) of an SLO file.

The spec's shape is documented in :mod:`stormcheck.slo.log_sli`. Every field is checked here,
with a located problem each: ``index`` a plausible index pattern, ``filters`` only fields of the
log index template that can be matched exactly (keyword fields and ``status``) with string or
whole-number values, ``status`` a non-empty ``{gte, lt}`` range of HTTP status codes.
"""

from __future__ import annotations

import re

from yaml.nodes import Node, ScalarNode

from stormcheck.slo.log_sli import LogSelector
from stormcheck.slo.nodes import STR_TAG, NodeReader, describe_node

__all__ = ["filter_fields", "read_log_selector"]

_SPEC_FIELDS = frozenset({"index", "filters", "status"})
_STATUS_FIELDS = frozenset({"gte", "lt"})
# An index name or pattern as OpenSearch accepts it: lower case, none of \ / ? " < > | , # or space.
_INDEX = re.compile(r"^[a-z0-9*][a-z0-9._*+-]{0,254}$")
_MAX_VALUE = 512


def filter_fields() -> frozenset[str]:
    """Fields a filter may name: the log index template's keyword fields, and ``status``."""
    # imported here: stormcheck.logstore loads both search clients (~1.5 s), paid only by files
    # that hold a log-based SLO
    from stormcheck.logstore.query import KEYWORD_FIELDS

    return frozenset(KEYWORD_FIELDS | {"status"})


def read_log_selector(reader: NodeReader, node: Node, field: str) -> LogSelector:
    """The :class:`LogSelector` of a ``metricSource.spec`` mapping at ``field``.

    Problems are recorded on ``reader``; raises :class:`~stormcheck.slo.nodes.Invalid` when the
    spec cannot be read at all.
    """
    spec = reader.mapping(node, field, _SPEC_FIELDS)
    index_node = reader.required(spec, "index", node, field)
    index = reader.string(index_node, f"{field}.index")
    if not _INDEX.match(index):
        reader.problem(
            index_node,
            f"{field}.index",
            f"{index!r} is not an index name or pattern (lower-case letters, digits, '.', '_',"
            " '-', '+' and '*'; e.g. logs-*)",
        )
    filters: dict[str, str | int] = {}
    if "filters" in spec:
        filters = _filters(reader, spec["filters"][1], f"{field}.filters")
    status_range = None
    if "status" in spec:
        status_range = _status(reader, spec["status"][1], f"{field}.status")
    return LogSelector(index=index, filters=filters, status_range=status_range)


def _filters(reader: NodeReader, node: Node, field: str) -> dict[str, str | int]:
    allowed = filter_fields()
    items = reader.mapping(node, field, allowed)
    filters: dict[str, str | int] = {}
    for name, (_, value_node) in items.items():
        where = f"{field}.{name}"
        if name not in allowed:
            continue  # already reported as an unknown field, with the fields that exist
        if name == "status":
            filters[name] = reader.integer(value_node, where)
            continue
        if not isinstance(value_node, ScalarNode) or value_node.tag != STR_TAG:
            reader.problem(
                value_node,
                where,
                f"expected a string to match exactly, got {describe_node(value_node)}",
            )
            continue
        value = reader.string(value_node, where)
        if len(value) > _MAX_VALUE or "\n" in value:
            reader.problem(
                value_node, where, f"expected one line of at most {_MAX_VALUE} characters"
            )
            continue
        filters[name] = value
    return filters


def _status(reader: NodeReader, node: Node, field: str) -> tuple[int, int] | None:
    items = reader.mapping(node, field, _STATUS_FIELDS)
    low = reader.integer(reader.required(items, "gte", node, field), f"{field}.gte")
    high = reader.integer(reader.required(items, "lt", node, field), f"{field}.lt")
    if not 100 <= low < high <= 600:
        reader.problem(
            node,
            field,
            f"[{low}, {high}) is not a non-empty range of HTTP status codes (100 <= gte < lt <= 600)",
        )
        return None
    return (low, high)
