"""Reading untrusted SLO files: :mod:`stormcheck.inputs` with the SLO file's name for itself.

The bounded reading (size cap, UTF-8 only, no aliases) and :class:`Problem` live in
:mod:`stormcheck.inputs`, shared by every input file kind; these names stay for the SLO code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from yaml.nodes import Node

from stormcheck.inputs import MAX_FILE_BYTES, InputError, Problem
from stormcheck.inputs import read_documents as _read_documents

__all__ = ["MAX_FILE_BYTES", "Problem", "YamlSourceError", "read_documents"]

YamlSourceError = InputError


def read_documents(path: Path) -> Iterator[tuple[Node, yaml.SafeLoader]]:
    """The YAML documents of an SLO file as nodes (see :func:`stormcheck.inputs.read_documents`)."""
    return _read_documents(path, what="an SLO file")
