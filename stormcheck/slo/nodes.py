"""Reading YAML nodes of one file into values, collecting one located :class:`Problem` per fault.

:class:`NodeReader` (in :mod:`stormcheck.inputs`, shared by every input file kind) holds the
checks every part of an SLO file needs (a mapping with known keys only, a required key, a
non-empty string, a number, a list); the OpenSLO loader and the metric source readers build on
it. A check that leaves nothing further to read raises :class:`Invalid` after recording its
problem; the caller stops reading that document.
"""

from __future__ import annotations

from stormcheck.inputs import STR_TAG, Invalid, NodeReader, describe_node

__all__ = ["STR_TAG", "Invalid", "NodeReader", "describe_node"]
