"""Input files users write: read them safely and report every fault as one located line.

Every file reader of the engine (SLO files, settings/profile files, experiment files, load-shape
files, plan files) reports a fault the same way, as a :class:`Problem`:
``file:line: field: message`` — one line per problem, never a traceback.
:class:`InputError` (a :class:`ConfigError`) carries all the problems of a file set; the CLI
prints its message, one problem a line, and exits non-zero.

Reading is bounded, because input files come from users: a file is capped in size, must be UTF-8
text (binary input is refused before any parser sees it), and YAML aliases are refused outright —
an alias is how a "billion laughs" document makes a few hundred bytes expand into gigabytes.
YAML documents are composed into nodes, not constructed into Python objects, so every value keeps
its line for the messages; :class:`NodeReader` holds the typed checks every YAML format needs.
TOML files (settings profiles) are read with :func:`read_toml`, which locates top-level keys.

The bottom of the engine's layers (beside :mod:`stormcheck.redaction`): it imports only
:mod:`stormcheck.errors`.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stormcheck.errors import ConfigError

__all__ = [
    "DURATION_UNITS",
    "MAX_FILE_BYTES",
    "STR_TAG",
    "InputError",
    "Invalid",
    "NodeReader",
    "Problem",
    "TomlFile",
    "describe_node",
    "parse_duration",
    "raise_problems",
    "read_documents",
    "read_text",
    "read_toml",
    "read_yaml_mapping",
]

MAX_FILE_BYTES = 256 * 1024
STR_TAG = "tag:yaml.org,2002:str"

# Units of the duration shorthand (OpenSLO's, also used by plans and load shapes); M, Q and Y
# are calendar-dependent lengths, which a rolling window over counters cannot use.
DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30d``, ``1h``, ``5m``, ``90s``; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: expected a positive whole number and one unit of "
            + ", ".join(DURATION_UNITS)
            + " (e.g. 30d, 1h)"
        )
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One located error in an input file: ``file:line: field: message``."""

    file: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InputError(ConfigError):
    """One or more input files are invalid; the message is one located line per problem.

    A file that cannot be read as YAML or TOML at all raises it with that single problem.
    """

    def __init__(self, problems: Iterable[Problem], *, what: str = "input files") -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.problem = self.problems[0]
        lines = "\n".join(str(p) for p in self.problems)
        text = (
            lines
            if len(self.problems) == 1
            else f"{len(self.problems)} problems in {what}:\n{lines}"
        )
        super().__init__(text)


def raise_problems(problems: Iterable[Problem], *, what: str = "input files") -> None:
    """Raise :class:`InputError` when ``problems`` is not empty."""
    found = tuple(problems)
    if found:
        raise InputError(found, what=what)


def _fail(path: Path, line: int | None, message: str) -> InputError:
    return InputError([Problem(file=path, line=line, field="", message=message)])


def read_text(path: Path, *, what: str = "an input file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``, at most ``max_bytes`` long; :class:`InputError` otherwise.

    ``what`` names the kind of file in the size message (``a plan file is a few KiB``).
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _fail(path, None, f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise _fail(path, None, f"larger than {max_bytes // 1024} KiB; {what} is a few KiB")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise _fail(path, line, "binary input (a NUL byte); expected text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(
            path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


class _NoAliasLoader(yaml.SafeLoader):
    """The pure-Python safe loader, refusing aliases (``*name``) where they would be composed."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None,
                None,
                f"alias *{event.anchor} is not allowed (aliases can expand without bound)",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def read_documents(
    path: Path, *, what: str = "an input file"
) -> Iterator[tuple[Node, yaml.SafeLoader]]:
    """The YAML documents of ``path`` as nodes, each with the loader that can construct scalars.

    Raises :class:`InputError` (with the line where known) when the file cannot be read, is
    too large, is not UTF-8 text, holds an alias, or is not well-formed YAML.
    """
    text = read_text(path, what=what)
    loader = _NoAliasLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node, loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _fail(
            path, mark.line + 1 if mark else None, f"not valid YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise _fail(path, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def read_yaml_mapping(path: Path, *, what: str) -> tuple[MappingNode, yaml.SafeLoader]:
    """The one YAML document of ``path``, which must be a mapping; :class:`InputError` otherwise."""
    documents = list(read_documents(path, what=what))
    if not documents:
        raise _fail(path, None, f"no YAML document in the file; expected {what}")
    if len(documents) > 1:
        raise _fail(
            path,
            documents[1][0].start_mark.line + 1,
            f"more than one YAML document; expected {what}",
        )
    node, loader = documents[0]
    if not isinstance(node, MappingNode):
        raise InputError(
            [
                Problem(
                    file=path,
                    line=node.start_mark.line + 1,
                    field="document",
                    message=f"expected {what} (a mapping), got {describe_node(node)}",
                )
            ]
        )
    return node, loader


@dataclass(frozen=True, slots=True)
class TomlFile:
    """A TOML file's values and the line of each top-level key."""

    path: Path
    values: Mapping[str, Any]
    lines: Mapping[str, int]

    def line(self, key: str) -> int | None:
        """The line of the top-level key ``key`` (None when the file does not set it)."""
        return self.lines.get(key)


_TOML_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*[=.]""")
_TOML_TABLE = re.compile(r"^\s*\[")
_TOML_ERROR_AT = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def read_toml(path: Path, *, what: str = "a settings file") -> TomlFile:
    """Parse ``path`` as TOML; :class:`InputError` (located) when it is not valid TOML.

    The line of each top-level key is found from the text: ``key = ...`` before the first table
    header, and ``[key]`` table headers.
    """
    text = read_text(path, what=what)
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_ERROR_AT.search(message)
        line = int(found.group(1)) if found else None
        raise _fail(path, line, f"not valid TOML: {_TOML_ERROR_AT.sub('', message)}") from None
    lines: dict[str, int] = {}
    in_table = False
    for number, raw in enumerate(text.splitlines(), 1):
        if _TOML_TABLE.match(raw):
            in_table = True
            header = raw.strip().strip("[]").strip().split(".", 1)[0].strip("\"' ")
            lines.setdefault(header, number)
            continue
        if in_table:
            continue
        match = _TOML_KEY.match(raw)
        if match:
            lines.setdefault(next(g for g in match.groups() if g), number)
    return TomlFile(path, values, lines)


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
    """Typed reads of the nodes of one file, each fault a located :class:`Problem`.

    A check that leaves nothing further to read records its problem and raises :class:`Invalid`
    (see :meth:`fail`); the caller stops reading that document.
    """

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

    def boolean(self, node: Node, field: str) -> bool:
        """``true`` or ``false``."""
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            raise self.fail(node, field, f"expected true or false, got {describe_node(node)}")
        return value

    def duration(self, node: Node, field: str) -> int:
        """Seconds of a duration string such as ``90s`` or ``5m``."""
        text = self.string(node, field)
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise self.fail(node, field, str(exc)) from None

    def sequence(self, node: Node, field: str) -> list[Node]:
        """The items of a list."""
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field, f"expected a list, got {describe_node(node)}")
        return list(node.value)
