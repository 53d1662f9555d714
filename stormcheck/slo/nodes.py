"""Reading YAML nodes of one file into values, collecting one located :class:`Problem` per fault.

:class:`NodeReader` holds the checks every part of an SLO file needs (a mapping with known keys
only, a required key, a non-empty string, a number, a list); the OpenSLO loader and the metric
source readers build on it. A check that leaves nothing further to read raises
:class:`Invalid` after recording its problem; the caller stops reading that document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stormcheck.slo.yaml_source import Problem

__all__ = ["STR_TAG", "Invalid", "NodeReader", "describe_node"]

STR_TAG = "tag:yaml.org,2002:str"


class Invalid(Exception):
    """Stops reading one document after a problem that leaves nothing further to check."""


def describe_node(node: Node | None) -> str:
    """What a node holds, for messages: ``a mapping``, ``int '3'``, ``an empty value``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        kind = node.tag.rpartition(":")[2]
        return f"{kind} {node.value!r}" if node.value else "an empty value"
    return "nothing"


class NodeReader:
    """Typed reads of the nodes of one file, each fault a located :class:`Problem`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.loader: yaml.SafeLoader | None = None

    def problem(self, node: Node | None, field: str, message: str) -> None:
        """Record a problem at ``node``'s line (the file's, when there is no node)."""
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(file=self.path, line=line, field=field, message=message))

    def fail(self, node: Node | None, field: str, message: str) -> Invalid:
        """Record a problem and return the :class:`Invalid` to raise."""
        self.problem(node, field, message)
        return Invalid()

    def mapping(
        self,
        node: Node,
        field: str,
        allowed: frozenset[str],
        unsupported: Mapping[str, str] | None = None,
    ) -> dict[str, tuple[Node, Node]]:
        """The items of a mapping with plain-string keys, each key in ``allowed``.

        An unknown or duplicate key is a problem (reading goes on); a key listed in
        ``unsupported`` (by its full field path) is refused with the reason given there.
        """
        if not isinstance(node, MappingNode):
            raise self.fail(
                node, field or "document", f"expected a mapping, got {describe_node(node)}"
            )
        items: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            where = f"{field}.{key}" if field and key else (key or field)
            if not isinstance(key, str) or key_node.tag != STR_TAG:
                self.problem(key_node, field or "document", "keys must be plain strings")
                continue
            if key in items:
                self.problem(key_node, where, "duplicate key")
                continue
            refused = (unsupported or {}).get(where)
            if refused:
                self.problem(key_node, where, f"not supported: {refused}")
            elif key not in allowed:
                self.problem(
                    key_node, where, f"unknown field; expected one of {', '.join(sorted(allowed))}"
                )
            items[key] = (key_node, value_node)
        return items

    def required(
        self, items: dict[str, tuple[Node, Node]], key: str, parent: Node, field: str
    ) -> Node:
        """The value of ``key``; a problem at ``parent`` when it is missing."""
        where = f"{field}.{key}" if field else key
        if key not in items:
            raise self.fail(parent, where, "required field is missing")
        return items[key][1]

    def scalar(self, node: Node) -> Any:
        """The Python value of a scalar node (the YAML core schema)."""
        assert self.loader is not None
        return self.loader.construct_object(node)

    def string(self, node: Node, field: str) -> str:
        """A non-empty string, stripped."""
        if not isinstance(node, ScalarNode) or node.tag != STR_TAG or not str(node.value).strip():
            raise self.fail(node, field, f"expected a non-empty string, got {describe_node(node)}")
        return str(node.value).strip()

    def number(self, node: Node, field: str) -> float:
        """A number (not a boolean, not NaN)."""
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(node, field, f"expected a number, got {describe_node(node)}")
        return float(value)

    def integer(self, node: Node, field: str) -> int:
        """A whole number (not a boolean)."""
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, field, f"expected a whole number, got {describe_node(node)}")
        return value

    def sequence(self, node: Node, field: str) -> list[Node]:
        """The items of a list."""
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field, f"expected a list, got {describe_node(node)}")
        return list(node.value)
