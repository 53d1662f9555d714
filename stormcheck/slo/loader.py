"""OpenSLO v1 files → :class:`~stormcheck.slo.model.Slo`, with one located line per error.

Checks, per document: the shape (``apiVersion: openslo/v1``, ``kind: SLO``, known fields only, so
a typo is an error rather than a silently ignored key), an RFC 1123 name, a rolling
``timeWindow`` with a known duration, one objective with a target in (0, 1), an inline ratio
indicator over Prometheus counters; across files: unique names; and, with ``promtool``, that
every query is a PromQL series selector. What the engine does not implement (``indicatorRef``,
threshold metrics, calendar windows, time slices, ``alertPolicies``) is refused by name rather
than half-understood.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stormcheck.errors import ConfigError
from stormcheck.slo.model import RatioSli, Slo, parse_duration
from stormcheck.slo.promql import QueryRef, selector_problems
from stormcheck.slo.yaml_source import Problem, YamlSourceError, read_documents

__all__ = ["LoadResult", "load_slo_files", "load_slos", "slo_files"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MAX_QUERY = 2000
_STR = "tag:yaml.org,2002:str"

_ALLOWED: dict[str, frozenset[str]] = {
    "": frozenset({"apiVersion", "kind", "metadata", "spec"}),
    "metadata": frozenset({"name", "displayName", "labels", "annotations"}),
    "spec": frozenset(
        {
            "description",
            "service",
            "indicator",
            "indicatorRef",
            "timeWindow",
            "budgetingMethod",
            "objectives",
            "alertPolicies",
        }
    ),
    "spec.indicator": frozenset({"metadata", "spec"}),
    "spec.indicator.spec": frozenset({"ratioMetric", "thresholdMetric"}),
    "spec.indicator.spec.ratioMetric": frozenset(
        {"counter", "good", "bad", "total", "rawType", "raw"}
    ),
    "metricSource": frozenset({"metricSource"}),
    "metricSource.body": frozenset({"metricSourceRef", "type", "spec"}),
    "spec.timeWindow[]": frozenset({"duration", "isRolling", "calendar"}),
    "spec.objectives[]": frozenset(
        {
            "displayName",
            "op",
            "value",
            "target",
            "targetPercent",
            "timeSliceTarget",
            "timeSliceWindow",
            "indicator",
            "indicatorRef",
            "compositeWeight",
        }
    ),
}

# Fields of OpenSLO v1 the engine knows but does not implement: refused with the reason.
_UNSUPPORTED: dict[str, str] = {
    "spec.indicatorRef": "references to a separate SLI are not supported; inline the indicator",
    "spec.alertPolicies": "the engine generates the SRE workbook's burn-rate alerts itself",
    "spec.indicator.spec.thresholdMetric": "only ratioMetric indicators are supported",
    "spec.indicator.spec.ratioMetric.bad": "give good and total (bad is not supported)",
    "spec.indicator.spec.ratioMetric.raw": "give good and total (raw ratios are not supported)",
    "spec.indicator.spec.ratioMetric.rawType": "give good and total (raw ratios are not supported)",
    "spec.timeWindow[0].calendar": "only rolling windows are supported",
    "spec.objectives[0].timeSliceTarget": "only budgetingMethod Occurrences is supported",
    "spec.objectives[0].timeSliceWindow": "only budgetingMethod Occurrences is supported",
    "spec.objectives[0].indicator": "the objective uses the SLO's indicator",
    "spec.objectives[0].indicatorRef": "the objective uses the SLO's indicator",
}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The SLOs that were read, and every problem found (empty when all is well)."""

    slos: tuple[Slo, ...]
    problems: tuple[Problem, ...]


def slo_files(paths: Iterable[Path]) -> list[Path]:
    """Files named by ``paths``: a file as given, a folder as its ``*.yaml``/``*.yml``, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            found.append(path)
    return found


def load_slo_files(paths: Sequence[Path], *, check_promql: bool = True) -> LoadResult:
    """Read and check SLO files; never raises for bad content, which becomes a :class:`Problem`.

    ``check_promql`` runs ``promtool`` once over every query (:class:`ConfigError` if promtool is
    missing).
    """
    slos: list[Slo] = []
    problems: list[Problem] = []
    queries: list[QueryRef] = []
    for path in paths:
        reader = _FileReader(path)
        try:
            for node, loader in read_documents(path):
                slo = reader.document(node, loader)
                if slo is not None:
                    slos.append(slo)
        except YamlSourceError as exc:
            reader.problems.append(exc.problem)
        if not reader.documents and not reader.problems:
            reader.problems.append(
                Problem(file=path, line=None, field="", message="no YAML document in the file")
            )
        problems.extend(reader.problems)
        queries.extend(reader.queries)
    seen: dict[str, Slo] = {}
    for slo in slos:
        first = seen.setdefault(slo.name, slo)
        if first is not slo:
            problems.append(
                Problem(
                    file=slo.source or Path("?"),
                    line=slo.line,
                    field="metadata.name",
                    message=f"{slo.name!r} is already defined at {first.located}; names must be unique",
                )
            )
    if check_promql:
        problems.extend(selector_problems(queries))
    bad_files = {p.file for p in problems}
    return LoadResult(
        slos=tuple(s for s in slos if s.source not in bad_files), problems=tuple(problems)
    )


def load_slos(paths: Sequence[Path], *, check_promql: bool = True) -> tuple[Slo, ...]:
    """The SLOs of ``paths``; :class:`ConfigError` with one located line per problem."""
    result = load_slo_files(paths, check_promql=check_promql)
    if result.problems:
        raise ConfigError(
            f"{len(result.problems)} problem(s) in SLO files:\n"
            + "\n".join(str(p) for p in result.problems)
        )
    return result.slos


class _Invalid(Exception):
    """Stops reading one document after a problem that leaves nothing further to check."""


class _FileReader:
    """Interprets the documents of one file, collecting problems and the queries to parse."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.queries: list[QueryRef] = []
        self.documents = 0
        self._loader: yaml.SafeLoader | None = None

    def _problem(self, node: Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(file=self.path, line=line, field=field, message=message))

    def _fail(self, node: Node | None, field: str, message: str) -> _Invalid:
        self._problem(node, field, message)
        return _Invalid()

    def document(self, node: Node, loader: yaml.SafeLoader) -> Slo | None:
        self.documents += 1
        self._loader = loader
        before = len(self.problems)
        try:
            slo = self._slo(node)
        except _Invalid:
            return None
        return slo if len(self.problems) == before else None

    # Shapes -----------------------------------------------------------------------------------

    def _mapping(self, node: Node, field: str, allowed: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self._fail(node, field or "document", f"expected a mapping, got {_kind(node)}")
        items: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            where = f"{field}.{key}" if field and key else (key or field)
            if not isinstance(key, str) or key_node.tag != _STR:
                self._problem(key_node, field or "document", "keys must be plain strings")
                continue
            if key in items:
                self._problem(key_node, where, "duplicate key")
                continue
            unsupported = _UNSUPPORTED.get(where)
            if unsupported:
                self._problem(key_node, where, f"not supported: {unsupported}")
            elif key not in _ALLOWED[allowed]:
                known = ", ".join(sorted(_ALLOWED[allowed]))
                self._problem(key_node, where, f"unknown field; expected one of {known}")
            items[key] = (key_node, value_node)
        return items

    def _required(
        self, items: dict[str, tuple[Node, Node]], key: str, parent: Node, field: str
    ) -> Node:
        where = f"{field}.{key}" if field else key
        if key not in items:
            raise self._fail(parent, where, "required field is missing")
        return items[key][1]

    def _scalar(self, node: Node) -> Any:
        assert self._loader is not None
        return self._loader.construct_object(node)

    def _string(self, node: Node, field: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag != _STR or not str(node.value).strip():
            raise self._fail(node, field, f"expected a non-empty string, got {_kind(node)}")
        return str(node.value).strip()

    def _number(self, node: Node, field: str) -> float:
        value = self._scalar(node) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self._fail(node, field, f"expected a number, got {_kind(node)}")
        return float(value)

    def _sequence(self, node: Node, field: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self._fail(node, field, f"expected a list, got {_kind(node)}")
        return list(node.value)

    # OpenSLO ----------------------------------------------------------------------------------

    def _slo(self, root: Node) -> Slo:
        top = self._mapping(root, "", "")
        api = self._string(self._required(top, "apiVersion", root, ""), "apiVersion")
        if api != "openslo/v1":
            raise self._fail(
                top["apiVersion"][1], "apiVersion", f"expected openslo/v1, got {api!r}"
            )
        kind = self._string(self._required(top, "kind", root, ""), "kind")
        if kind != "SLO":
            raise self._fail(
                top["kind"][1], "kind", f"expected SLO, got {kind!r} (only SLO documents are read)"
            )
        metadata_node = self._required(top, "metadata", root, "")
        metadata = self._mapping(metadata_node, "metadata", "metadata")
        name_node = self._required(metadata, "name", metadata_node, "metadata")
        name = self._string(name_node, "metadata.name")
        if not _NAME.match(name):
            self._problem(
                name_node,
                "metadata.name",
                f"{name!r} is not a DNS label (lower-case letters, digits and '-', at most 63)",
            )
        spec_node = self._required(top, "spec", root, "")
        spec = self._mapping(spec_node, "spec", "spec")
        service = self._string(self._required(spec, "service", spec_node, "spec"), "spec.service")
        description = (
            self._string(spec["description"][1], "spec.description")
            if "description" in spec
            else ""
        )
        method_node = self._required(spec, "budgetingMethod", spec_node, "spec")
        method = self._string(method_node, "spec.budgetingMethod")
        if method != "Occurrences":
            self._problem(
                method_node,
                "spec.budgetingMethod",
                f"expected Occurrences, got {method!r} (Timeslices and RatioTimeslices are not"
                " supported)",
            )
        period_s = self._time_window(self._required(spec, "timeWindow", spec_node, "spec"))
        objective = self._objective(self._required(spec, "objectives", spec_node, "spec"))
        sli = self._indicator(self._required(spec, "indicator", spec_node, "spec"))
        return Slo(
            name=name,
            service=service,
            description=description,
            sli=sli,
            objective=objective,
            period_s=period_s,
            source=self.path,
            line=root.start_mark.line + 1,
        )

    def _time_window(self, node: Node) -> int:
        windows = self._sequence(node, "spec.timeWindow")
        if len(windows) != 1:
            raise self._fail(node, "spec.timeWindow", f"expected one window, got {len(windows)}")
        field = "spec.timeWindow[0]"
        items = self._mapping(windows[0], field, "spec.timeWindow[]")
        rolling_node = self._required(items, "isRolling", windows[0], field)
        if self._scalar(rolling_node) is not True:
            self._problem(
                rolling_node, f"{field}.isRolling", "expected true (only rolling windows)"
            )
        duration_node = self._required(items, "duration", windows[0], field)
        text = self._string(duration_node, f"{field}.duration")
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise self._fail(duration_node, f"{field}.duration", str(exc)) from None
        if seconds < 3600:
            raise self._fail(
                duration_node,
                f"{field}.duration",
                f"{text} is shorter than an hour; expected e.g. 28d or 30d",
            )
        return seconds

    def _objective(self, node: Node) -> float:
        objectives = self._sequence(node, "spec.objectives")
        if len(objectives) != 1:
            raise self._fail(
                node, "spec.objectives", f"expected exactly one objective, got {len(objectives)}"
            )
        field = "spec.objectives[0]"
        items = self._mapping(objectives[0], field, "spec.objectives[]")
        if ("target" in items) == ("targetPercent" in items):
            raise self._fail(
                objectives[0], f"{field}.target", "give either target or targetPercent"
            )
        if "target" in items:
            value_node = items["target"][1]
            target = self._number(value_node, f"{field}.target")
        else:
            value_node = items["targetPercent"][1]
            target = self._number(value_node, f"{field}.targetPercent") / 100
        if not 0 < target < 1:
            key = "target" if "target" in items else "targetPercent"
            expected = "(0, 1)" if key == "target" else "(0, 100)"
            raise self._fail(
                value_node, f"{field}.{key}", f"{self._scalar(value_node)} is not in {expected}"
            )
        return target

    def _indicator(self, node: Node) -> RatioSli:
        field = "spec.indicator"
        items = self._mapping(node, field, field)
        spec_node = self._required(items, "spec", node, field)
        spec = self._mapping(spec_node, f"{field}.spec", f"{field}.spec")
        ratio_node = self._required(spec, "ratioMetric", spec_node, f"{field}.spec")
        field = f"{field}.spec.ratioMetric"
        ratio = self._mapping(ratio_node, field, field)
        counter_node = self._required(ratio, "counter", ratio_node, field)
        if self._scalar(counter_node) is not True:
            self._problem(
                counter_node, f"{field}.counter", "expected true (good and total are counters)"
            )
        good = self._query(self._required(ratio, "good", ratio_node, field), f"{field}.good")
        total = self._query(self._required(ratio, "total", ratio_node, field), f"{field}.total")
        return RatioSli(good=good, total=total)

    def _query(self, node: Node, field: str) -> str:
        wrapper = self._mapping(node, field, "metricSource")
        source_node = self._required(wrapper, "metricSource", node, field)
        field = f"{field}.metricSource"
        source = self._mapping(source_node, field, "metricSource.body")
        kind_node = self._required(source, "type", source_node, field)
        kind = self._string(kind_node, f"{field}.type")
        if kind.lower() != "prometheus":
            raise self._fail(kind_node, f"{field}.type", f"expected Prometheus, got {kind!r}")
        spec_node = self._required(source, "spec", source_node, field)
        if not isinstance(spec_node, MappingNode):
            raise self._fail(
                spec_node, f"{field}.spec", f"expected a mapping, got {_kind(spec_node)}"
            )
        spec = {k.value: v for k, v in spec_node.value if isinstance(k, ScalarNode)}
        if "query" not in spec:
            raise self._fail(spec_node, f"{field}.spec.query", "required field is missing")
        query_node = spec["query"]
        query = self._string(query_node, f"{field}.spec.query")
        if len(query) > _MAX_QUERY or "\n" in query:
            raise self._fail(
                query_node,
                f"{field}.spec.query",
                f"expected one line of at most {_MAX_QUERY} characters",
            )
        self.queries.append(
            QueryRef(
                file=self.path,
                line=query_node.start_mark.line + 1,
                field=f"{field}.spec.query",
                query=query,
            )
        )
        return query


def _kind(node: Node | None) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        kind = node.tag.rpartition(":")[2]
        return f"{kind} {node.value!r}" if node.value else "an empty value"
    return "nothing"
