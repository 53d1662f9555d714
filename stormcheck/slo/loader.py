"""OpenSLO v1 files → :class:`~stormcheck.slo.model.Slo`, with one located line per error.

Checks, per document: the shape (``apiVersion: openslo/v1``, ``kind: SLO``, known fields only, so
a typo is an error rather than a silently ignored key), an RFC 1123 name, a rolling
``timeWindow`` with a known duration, one objective with a target in (0, 1), an inline ratio
indicator whose good and total come from the same kind of source — Prometheus counters, or log
lines in the log store (``type: OpenSearch``/``Elasticsearch``, :mod:`stormcheck.slo.log_sli`;
good must select a subset of total's lines); across files: unique names; and, with
``promtool``, that every Prometheus query is a PromQL series selector. What the engine does not
implement (``indicatorRef``, threshold metrics, calendar windows, time slices,
``alertPolicies``) is refused by name rather than half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from stormcheck.errors import ConfigError
from stormcheck.slo.log_sli import LOG_SOURCE_TYPES, LogRatioSli, LogSelector
from stormcheck.slo.log_source import read_log_selector
from stormcheck.slo.model import RatioSli, Slo, parse_duration
from stormcheck.slo.nodes import Invalid, NodeReader, describe_node
from stormcheck.slo.promql import QueryRef, selector_problems
from stormcheck.slo.yaml_source import Problem, YamlSourceError, read_documents

__all__ = ["LoadResult", "load_slo_files", "load_slos", "slo_files"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MAX_QUERY = 2000
_SOURCE_TYPES = "Prometheus, OpenSearch, Elasticsearch"  # metricSource.type, any letter case

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


class _FileReader(NodeReader):
    """Interprets the documents of one file, collecting problems and the queries to parse."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.queries: list[QueryRef] = []
        self.documents = 0

    def document(self, node: Node, loader: yaml.SafeLoader) -> Slo | None:
        self.documents += 1
        self.loader = loader
        before = len(self.problems)
        try:
            slo = self._slo(node)
        except Invalid:
            return None
        return slo if len(self.problems) == before else None

    def _map(self, node: Node, field: str, allowed: str) -> dict[str, tuple[Node, Node]]:
        return self.mapping(node, field, _ALLOWED[allowed], _UNSUPPORTED)

    # OpenSLO ----------------------------------------------------------------------------------

    def _slo(self, root: Node) -> Slo:
        top = self._map(root, "", "")
        api = self.string(self.required(top, "apiVersion", root, ""), "apiVersion")
        if api != "openslo/v1":
            raise self.fail(top["apiVersion"][1], "apiVersion", f"expected openslo/v1, got {api!r}")
        kind = self.string(self.required(top, "kind", root, ""), "kind")
        if kind != "SLO":
            raise self.fail(
                top["kind"][1], "kind", f"expected SLO, got {kind!r} (only SLO documents are read)"
            )
        metadata_node = self.required(top, "metadata", root, "")
        metadata = self._map(metadata_node, "metadata", "metadata")
        name_node = self.required(metadata, "name", metadata_node, "metadata")
        name = self.string(name_node, "metadata.name")
        if not _NAME.match(name):
            self.problem(
                name_node,
                "metadata.name",
                f"{name!r} is not a DNS label (lower-case letters, digits and '-', at most 63)",
            )
        spec_node = self.required(top, "spec", root, "")
        spec = self._map(spec_node, "spec", "spec")
        service = self.string(self.required(spec, "service", spec_node, "spec"), "spec.service")
        description = (
            self.string(spec["description"][1], "spec.description") if "description" in spec else ""
        )
        method_node = self.required(spec, "budgetingMethod", spec_node, "spec")
        method = self.string(method_node, "spec.budgetingMethod")
        if method != "Occurrences":
            self.problem(
                method_node,
                "spec.budgetingMethod",
                f"expected Occurrences, got {method!r} (Timeslices and RatioTimeslices are not"
                " supported)",
            )
        period_s = self._time_window(self.required(spec, "timeWindow", spec_node, "spec"))
        objective = self._objective(self.required(spec, "objectives", spec_node, "spec"))
        sli = self._indicator(self.required(spec, "indicator", spec_node, "spec"))
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
        windows = self.sequence(node, "spec.timeWindow")
        if len(windows) != 1:
            raise self.fail(node, "spec.timeWindow", f"expected one window, got {len(windows)}")
        field = "spec.timeWindow[0]"
        items = self._map(windows[0], field, "spec.timeWindow[]")
        rolling_node = self.required(items, "isRolling", windows[0], field)
        if self.scalar(rolling_node) is not True:
            self.problem(rolling_node, f"{field}.isRolling", "expected true (only rolling windows)")
        duration_node = self.required(items, "duration", windows[0], field)
        text = self.string(duration_node, f"{field}.duration")
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise self.fail(duration_node, f"{field}.duration", str(exc)) from None
        if seconds < 3600:
            raise self.fail(
                duration_node,
                f"{field}.duration",
                f"{text} is shorter than an hour; expected e.g. 28d or 30d",
            )
        return seconds

    def _objective(self, node: Node) -> float:
        objectives = self.sequence(node, "spec.objectives")
        if len(objectives) != 1:
            raise self.fail(
                node, "spec.objectives", f"expected exactly one objective, got {len(objectives)}"
            )
        field = "spec.objectives[0]"
        items = self._map(objectives[0], field, "spec.objectives[]")
        if ("target" in items) == ("targetPercent" in items):
            raise self.fail(objectives[0], f"{field}.target", "give either target or targetPercent")
        if "target" in items:
            value_node = items["target"][1]
            target = self.number(value_node, f"{field}.target")
        else:
            value_node = items["targetPercent"][1]
            target = self.number(value_node, f"{field}.targetPercent") / 100
        if not 0 < target < 1:
            key = "target" if "target" in items else "targetPercent"
            expected = "(0, 1)" if key == "target" else "(0, 100)"
            raise self.fail(
                value_node, f"{field}.{key}", f"{self.scalar(value_node)} is not in {expected}"
            )
        return target

    def _indicator(self, node: Node) -> RatioSli | LogRatioSli:
        field = "spec.indicator"
        items = self._map(node, field, field)
        spec_node = self.required(items, "spec", node, field)
        spec = self._map(spec_node, f"{field}.spec", f"{field}.spec")
        ratio_node = self.required(spec, "ratioMetric", spec_node, f"{field}.spec")
        field = f"{field}.spec.ratioMetric"
        ratio = self._map(ratio_node, field, field)
        counter_node = self.required(ratio, "counter", ratio_node, field)
        if self.scalar(counter_node) is not True:
            self.problem(
                counter_node, f"{field}.counter", "expected true (good and total are counters)"
            )
        good_node = self.required(ratio, "good", ratio_node, field)
        good_key = ratio["good"][0]  # the `good:` line, where a mismatch with total is reported
        good_kind, good = self._source(good_node, f"{field}.good")
        total_kind, total = self._source(
            self.required(ratio, "total", ratio_node, field), f"{field}.total"
        )
        if good_kind != total_kind:
            raise self.fail(
                good_key,
                f"{field}.good.metricSource.type",
                f"good comes from {good_kind} but total from {total_kind}; both must come from"
                " the same source",
            )
        if isinstance(good, str) and isinstance(total, str):
            return RatioSli(good=good, total=total)
        assert isinstance(good, LogSelector) and isinstance(total, LogSelector)
        subset = good.subset_problem(total)
        if subset is not None:
            self.problem(
                good_key,
                f"{field}.good.metricSource.spec",
                f"good must count a subset of total's log lines: {subset}",
            )
        return LogRatioSli(backend=LOG_SOURCE_TYPES[good_kind], good=good, total=total)

    def _source(self, node: Node, field: str) -> tuple[str, str | LogSelector]:
        """The kind of a ``metricSource`` (``prometheus``, ``opensearch``, ...) and its query."""
        wrapper = self._map(node, field, "metricSource")
        source_node = self.required(wrapper, "metricSource", node, field)
        field = f"{field}.metricSource"
        source = self._map(source_node, field, "metricSource.body")
        kind_node = self.required(source, "type", source_node, field)
        kind = self.string(kind_node, f"{field}.type").lower()
        if kind != "prometheus" and kind not in LOG_SOURCE_TYPES:
            raise self.fail(
                kind_node,
                f"{field}.type",
                f"expected one of {_SOURCE_TYPES}, got {source['type'][1].value!r}",
            )
        spec_node = self.required(source, "spec", source_node, field)
        if kind in LOG_SOURCE_TYPES:
            return kind, read_log_selector(self, spec_node, f"{field}.spec")
        return kind, self._promql(spec_node, f"{field}.spec")

    def _promql(self, spec_node: Node, field: str) -> str:
        if not isinstance(spec_node, MappingNode):
            raise self.fail(spec_node, field, f"expected a mapping, got {describe_node(spec_node)}")
        spec = {k.value: v for k, v in spec_node.value if isinstance(k, ScalarNode)}
        if "query" not in spec:
            raise self.fail(spec_node, f"{field}.query", "required field is missing")
        query_node = spec["query"]
        query = self.string(query_node, f"{field}.query")
        if len(query) > _MAX_QUERY or "\n" in query:
            raise self.fail(
                query_node,
                f"{field}.query",
                f"expected one line of at most {_MAX_QUERY} characters",
            )
        self.queries.append(
            QueryRef(
                file=self.path,
                line=query_node.start_mark.line + 1,
                field=f"{field}.query",
                query=query,
            )
        )
        return query
