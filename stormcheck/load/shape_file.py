"""Load-shape files: a pattern of stages over time as YAML, checked with one located line each.

A load shape is what a Locust ``LoadTestShape`` steps through. The engine's patterns
(``load/shapes.py``: ramp, step, spike, soak) are tuples of stages ``(until, users, ramped)``,
in shares of the run's length and of the peak user count, so one shape serves any length and
any peak. A load-shape file writes the same thing down::

    shape: spike                  # must equal the file stem
    description: a short burst at the peak between two quiet stretches
    stages:                       # in order; the last ends the run (until: 1)
      - {until: 0.4, users: 0.2}
      - {until: 0.6, users: 1.0}
      - {until: 1.0, users: 0.2, ramped: false}

``until``: the end of the stage as a share of the run, increasing, in (0, 1], the last exactly 1;
``users``: the users held as a share of the peak, in (0, 1]; ``ramped`` (default false): spawn
over the whole stage instead of at once. :func:`read_shape` raises
:class:`~stormcheck.inputs.InputError` with every problem of the file.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node

from stormcheck.errors import ConfigError
from stormcheck.inputs import Invalid, NodeReader, raise_problems, read_yaml_mapping
from stormcheck.load.patterns import PATTERNS, SHAPE_FILE_SUFFIXES, ShapeStage

__all__ = ["ShapeFile", "ShapeStage", "read_shape", "resolve_shape"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_]{0,38}[a-z0-9])?$")
_TOP = frozenset({"shape", "description", "stages"})
_STAGE = frozenset({"until", "users", "ramped"})
MAX_STAGES = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapeFile:
    """A load-shape file, checked."""

    name: str
    description: str
    stages: tuple[ShapeStage, ...]
    path: Path


def read_shape(path: Path) -> ShapeFile:
    """The load shape in ``path``; :class:`~stormcheck.inputs.InputError`, one line a problem."""
    node, loader = read_yaml_mapping(path, what="a load shape")
    reader = _ShapeReader(path)
    reader.loader = loader
    shape: ShapeFile | None = None
    with contextlib.suppress(Invalid):
        shape = reader.shape(node)
    raise_problems(reader.problems, what=str(path))
    assert shape is not None
    return shape


class _ShapeReader(NodeReader):
    def shape(self, root: Node) -> ShapeFile:
        top = self.mapping(root, "", _TOP)
        name_node = self.required(top, "shape", root, "")
        name = self.string(name_node, "shape")
        if not _NAME.match(name):
            self.problem(name_node, "shape", f"{name!r} is not a shape name (a-z, 0-9, '-', '_')")
        elif name != self.path.stem:
            self.problem(
                name_node, "shape", f"{name!r} must equal the file's stem {self.path.stem!r}"
            )
        description = (
            self.string(top["description"][1], "description") if "description" in top else ""
        )
        stages_node = self.required(top, "stages", root, "")
        items = self.sequence(stages_node, "stages")
        if not items:
            raise self.fail(stages_node, "stages", "expected at least one stage")
        if len(items) > MAX_STAGES:
            raise self.fail(stages_node, "stages", f"{len(items)} stages; at most {MAX_STAGES}")
        stages: list[ShapeStage] = []
        previous = 0.0
        for index, item in enumerate(items):
            field = f"stages[{index}]"
            try:
                stage = self._stage(item, field)
            except Invalid:
                continue
            if stage.until <= previous:
                self.problem(
                    item,
                    f"{field}.until",
                    f"{stage.until:g} does not come after the previous stage's end ({previous:g})",
                )
            previous = max(previous, stage.until)
            stages.append(stage)
        if len(stages) == len(items) and stages[-1].until != 1:
            self.problem(
                items[-1],
                f"stages[{len(items) - 1}].until",
                f"the last stage must end the run (until: 1), got {stages[-1].until:g}",
            )
        return ShapeFile(name=name, description=description, stages=tuple(stages), path=self.path)

    def _stage(self, node: Node, field: str) -> ShapeStage:
        items = self.mapping(node, field, _STAGE)
        until_node = self.required(items, "until", node, field)
        until = self.number(until_node, f"{field}.until")
        if not 0 < until <= 1:
            raise self.fail(
                until_node, f"{field}.until", f"{until:g} is not in (0, 1] (a share of the run)"
            )
        users_node = self.required(items, "users", node, field)
        users = self.number(users_node, f"{field}.users")
        if not 0 < users <= 1:
            raise self.fail(
                users_node, f"{field}.users", f"{users:g} is not in (0, 1] (a share of the peak)"
            )
        ramped = self.boolean(items["ramped"][1], f"{field}.ramped") if "ramped" in items else False
        return ShapeStage(until=until, users=users, ramped=ramped)


def resolve_shape(value: str) -> tuple[str, tuple[ShapeStage, ...] | None]:
    """A ``--shape`` value: ``(name, None)`` for a built-in pattern, ``(name, stages)`` for a file.

    A value ending in ``.yaml``/``.yml`` is a load-shape file, read with
    :func:`~stormcheck.load.shape_file.read_shape` (its problems raise
    :class:`~stormcheck.inputs.InputError`, one located line each); anything else that is not a
    built-in name raises :class:`ConfigError`.
    """
    if value in PATTERNS:
        return value, None
    path = Path(value)
    if path.suffix in SHAPE_FILE_SUFFIXES:
        shape = read_shape(path)
        return shape.name, shape.stages
    raise ConfigError(
        f"--shape {value!r}: expected a built-in pattern ({', '.join(sorted(PATTERNS))})"
        f" or a load-shape file ({', '.join('*' + s for s in SHAPE_FILE_SUFFIXES)})"
    )
