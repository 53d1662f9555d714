"""Reading untrusted YAML safely, keeping where every value came from.

SLO files come from users, so reading one must be bounded: the file is capped in size, must be
UTF-8 text (binary input is refused before the parser sees it), and YAML aliases are refused
outright — an alias is how a "billion laughs" document makes a few hundred bytes expand into
gigabytes. Documents are composed into nodes, not constructed into Python objects, so every
value keeps its line number for the error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node

__all__ = ["MAX_FILE_BYTES", "Problem", "YamlSourceError", "read_documents"]

MAX_FILE_BYTES = 256 * 1024


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


class YamlSourceError(Exception):
    """A file that cannot be read as YAML at all; carries the located :class:`Problem`."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


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


def read_documents(path: Path) -> Iterator[tuple[Node, yaml.SafeLoader]]:
    """The YAML documents of ``path`` as nodes, each with the loader that can construct scalars.

    Raises :class:`YamlSourceError` (with the line where known) when the file cannot be read, is
    too large, is not UTF-8 text, holds an alias, or is not well-formed YAML.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlSourceError(
            Problem(file=path, line=None, field="", message=f"cannot read: {exc.strerror}")
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise YamlSourceError(
            Problem(
                file=path,
                line=None,
                field="",
                message=f"larger than {MAX_FILE_BYTES // 1024} KiB; an SLO file is a few KiB",
            )
        )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise YamlSourceError(
            Problem(
                file=path,
                line=line,
                field="",
                message="binary input (a NUL byte); expected YAML text",
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlSourceError(
            Problem(
                file=path,
                line=line,
                field="",
                message=f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            )
        ) from None
    loader = _NoAliasLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node, loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSourceError(
            Problem(
                file=path,
                line=mark.line + 1 if mark else None,
                field="",
                message=f"not valid YAML: {exc.problem or exc.context}",
            )
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(
            Problem(file=path, line=None, field="", message=f"not valid YAML: {exc}")
        ) from None
    finally:
        loader.dispose()
