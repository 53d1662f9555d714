"""SLO files (OpenSLO v1 and Sloth ``prometheus/v1``) → SLOs, with one located line per error.

Checks, per OpenSLO document: the shape (``apiVersion: openslo/v1``, ``kind: SLO``, known fields
only, so a typo is an error rather than a silently ignored key), an RFC 1123 name, a rolling
``timeWindow`` with a known duration, one objective with a target in (0, 1), an inline indicator:
a ratio whose good (or bad) and total come from the same kind of source — Prometheus counters,
or log lines in the log store (``type: OpenSearch``/``Elasticsearch``,
:mod:`stormcheck.slo.log_sli`; good must select a subset of total's lines) — or a threshold
metric over a latency histogram (``op: lte`` and ``value`` in the objective: good is the
``_bucket`` series at ``le`` = value, total its ``_count``); ``alertPolicies`` become the SLO's
burn-rate alerts (:mod:`stormcheck.slo.alert_policies`). A document with ``version:
prometheus/v1`` is a Sloth spec (:mod:`stormcheck.slo.sloth`). Every Prometheus query is parsed
and rewritten to the evaluated window (:mod:`stormcheck.slo.expressions`); what cannot be
rewritten is refused with the reason. Across files: unique names; and, with ``promtool``, that
Prometheus accepts every rewritten query. What the engine does not implement (``indicatorRef``,
calendar windows, time slices, raw ratios) is refused by name rather than half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from stormcheck.errors import ConfigError
from stormcheck.slo.alert_policies import read_alert_policies
from stormcheck.slo.expressions import (
    CounterQuery,
    QueryError,
    parse_counter_query,
    quote_label_value,
    render_selector,
)
from stormcheck.slo.log_sli import LOG_SOURCE_TYPES, LogRatioSli, LogSelector
from stormcheck.slo.log_source import read_log_selector
from stormcheck.slo.model import RatioSli, Slo, parse_duration
from stormcheck.slo.nodes import Invalid, NodeReader, describe_node
from stormcheck.slo.promql import QueryRef, query_problems
from stormcheck.slo.sloth import read_sloth
from stormcheck.slo.yaml_source import Problem, YamlSourceError, read_documents

__all__ = ["SloFileSet", "read_slo_files", "read_slos", "slo_files"]

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_QUERY = 2000
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
    "spec.indicator.spec.thresholdMetric": frozenset({"metricSource"}),
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
    "spec.indicator.spec.ratioMetric.raw": "give good (or bad) and total; raw ratios cannot be"
    " summed over a window",
    "spec.indicator.spec.ratioMetric.rawType": "give good (or bad) and total; raw ratios cannot"
    " be summed over a window",
    "spec.timeWindow[0].calendar": "only rolling windows are supported",
    "spec.objectives[0].timeSliceTarget": "only budgetingMethod Occurrences is supported",
    "spec.objectives[0].timeSliceWindow": "only budgetingMethod Occurrences is supported",
    "spec.objectives[0].indicator": "the objective uses the SLO's indicator",
    "spec.objectives[0].indicatorRef": "the objective uses the SLO's indicator",
}


@dataclass(frozen=True, slots=True)
class SloFileSet:
    """The SLOs read from a set of SLO files, and every problem found (empty when all is well)."""

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


def read_slo_files(paths: Sequence[Path], *, check_promql: bool = True) -> SloFileSet:
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
                slos.extend(reader.document(node, loader))
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
        problems.extend(query_problems(queries))
    bad_files = {p.file for p in problems}
    return SloFileSet(
        slos=tuple(s for s in slos if s.source not in bad_files), problems=tuple(problems)
    )


def read_slos(paths: Sequence[Path], *, check_promql: bool = True) -> tuple[Slo, ...]:
    """The SLOs of ``paths``; :class:`ConfigError` with one located line per problem."""
    result = read_slo_files(paths, check_promql=check_promql)
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

    def document(self, node: Node, loader: yaml.SafeLoader) -> list[Slo]:
        self.documents += 1
        self.loader = loader
        before = len(self.problems)
        try:
            if _is_sloth(node):
                slos = read_sloth(self, node, self.counter_query)
            else:
                slos = [self._slo(node)]
        except Invalid:
            return []
        return slos if len(self.problems) == before else []

    def counter_query(self, node: Node, field: str) -> str:
        """A Prometheus counter query at ``node``: checked, rewritable, queued for promtool."""
        query = self.string(node, field)
        if len(query) > MAX_QUERY or "\n" in query:
            raise self.fail(node, field, f"expected one line of at most {MAX_QUERY} characters")
        try:
            parsed = parse_counter_query(query)
        except QueryError as exc:
            raise self.fail(node, field, f"{exc}: {query!r}") from None
        self.queries.append(
            QueryRef(
                file=self.path,
                line=node.start_mark.line + 1,
                field=field,
                query=query,
                rewritten=parsed.increase("5m"),
            )
        )
        return query

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
        if not NAME.match(name):
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
        objective, threshold = self._objective(self.required(spec, "objectives", spec_node, "spec"))
        sli = self._indicator(self.required(spec, "indicator", spec_node, "spec"), threshold)
        alerts = None
        if "alertPolicies" in spec:
            if isinstance(sli, LogRatioSli):
                self.problem(
                    spec["alertPolicies"][0],
                    "spec.alertPolicies",
                    "a log-based SLO has no Prometheus rules, so no alerts; leave it out",
                )
            else:
                alerts = read_alert_policies(self, spec["alertPolicies"][1], period_s)
        return Slo(
            name=name,
            service=service,
            description=description,
            sli=sli,
            objective=objective,
            period_s=period_s,
            source=self.path,
            line=root.start_mark.line + 1,
            alerts=alerts,
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

    def _objective(self, node: Node) -> tuple[float, tuple[Node, str] | None]:
        """The target, and the threshold (value node, text) when the objective has op/value."""
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
        if "op" not in items and "value" not in items:
            return target, None
        op_node = self.required(items, "op", objectives[0], field)
        op = self.string(op_node, f"{field}.op")
        if op != "lte":
            raise self.fail(
                op_node,
                f"{field}.op",
                f"expected lte (good: at or under value, as a histogram bucket counts), got {op!r}",
            )
        threshold_node = self.required(items, "value", objectives[0], field)
        seconds = self.number(threshold_node, f"{field}.value")
        if not seconds > 0:
            raise self.fail(threshold_node, f"{field}.value", f"{seconds:g} is not positive")
        return target, (threshold_node, str(threshold_node.value))

    def _indicator(self, node: Node, threshold: tuple[Node, str] | None) -> RatioSli | LogRatioSli:
        field = "spec.indicator"
        items = self._map(node, field, field)
        spec_node = self.required(items, "spec", node, field)
        spec = self._map(spec_node, f"{field}.spec", f"{field}.spec")
        if "thresholdMetric" in spec and "ratioMetric" in spec:
            raise self.fail(spec_node, f"{field}.spec", "give ratioMetric or thresholdMetric")
        if "thresholdMetric" in spec:
            return self._threshold(spec["thresholdMetric"][1], threshold)
        if threshold is not None:
            raise self.fail(
                threshold[0],
                "spec.objectives[0].value",
                "op and value apply to a thresholdMetric indicator only",
            )
        ratio_node = self.required(spec, "ratioMetric", spec_node, f"{field}.spec")
        field = f"{field}.spec.ratioMetric"
        ratio = self._map(ratio_node, field, field)
        counter_node = self.required(ratio, "counter", ratio_node, field)
        if self.scalar(counter_node) is not True:
            self.problem(
                counter_node, f"{field}.counter", "expected true (good and total are counters)"
            )
        if ("good" in ratio) == ("bad" in ratio):
            raise self.fail(ratio_node, f"{field}.good", "give either good or bad (and total)")
        side = "good" if "good" in ratio else "bad"
        good_node = ratio[side][1]
        good_key = ratio[side][0]  # the `good:` line, where a mismatch with total is reported
        good_kind, good = self._source(good_node, f"{field}.{side}")
        total_kind, total = self._source(
            self.required(ratio, "total", ratio_node, field), f"{field}.total"
        )
        if good_kind != total_kind:
            raise self.fail(
                good_key,
                f"{field}.{side}.metricSource.type",
                f"{side} comes from {good_kind} but total from {total_kind}; both must come from"
                " the same source",
            )
        if isinstance(good, str) and isinstance(total, str):
            if side == "bad":
                return RatioSli(bad=good, total=total)
            return RatioSli(good=good, total=total)
        if side == "bad":
            raise self.fail(
                good_key,
                f"{field}.bad",
                "log-based SLIs take good and total (give the good lines' selection)",
            )
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
                f"unsupported source type {source['type'][1].value!r}; supported: {_SOURCE_TYPES}",
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
        return self.counter_query(spec["query"], f"{field}.query")

    def _threshold(self, node: Node, threshold: tuple[Node, str] | None) -> RatioSli:
        """A latency threshold: good = the histogram's bucket at ``le`` = value, total = its count."""
        field = "spec.indicator.spec.thresholdMetric"
        if threshold is None:
            raise self.fail(
                node,
                "spec.objectives[0].value",
                "a thresholdMetric needs op: lte and value (seconds) in the objective",
            )
        kind, query = self._source(node, field)
        if not isinstance(query, str):
            raise self.fail(node, f"{field}.metricSource.type", f"expected Prometheus, got {kind}")
        where = f"{field}.metricSource.spec.query"
        _, text = threshold
        value = float(text)
        # The Go client writes le="1", the Python client le="1.0": match either.
        spellings = dict.fromkeys([text, repr(value), f"{value:g}"])
        pattern = "|".join(re.escape(s) for s in spellings)

        def bucket(selector: object) -> str:
            _check_bucket(selector)
            return render_selector(selector, f"le=~{quote_label_value(pattern)}")

        def count(selector: object) -> str:
            _check_bucket(selector)
            name = str(getattr(selector, "name", ""))
            return render_selector(selector, name=name.removesuffix("_bucket") + "_count")

        try:
            good = CounterQuery(query).mapped(bucket).text
            total = CounterQuery(query).mapped(count).text
        except QueryError as exc:
            raise self.fail(self._query_node(node), where, f"{exc}: {query!r}") from None
        return RatioSli(good=good, total=total)

    def _query_node(self, node: Node) -> Node:
        """The ``query`` scalar under a ``metricSource`` wrapper (the node itself if absent)."""
        try:
            source = next(v for k, v in node.value if k.value == "metricSource")
            spec = next(v for k, v in source.value if k.value == "spec")
            query: Node = next(v for k, v in spec.value if k.value == "query")
        except (StopIteration, AttributeError, TypeError):
            return node
        return query


def _check_bucket(selector: object) -> None:
    name = str(getattr(selector, "name", "") or "")
    if not name.endswith("_bucket"):
        raise QueryError(
            f"a thresholdMetric names a histogram's _bucket series, got {name or 'no name'}"
        )
    matchers = getattr(selector, "matchers", None)
    for matcher in matchers.matchers if matchers is not None else ():
        if matcher.name == "le":
            raise QueryError(
                "the le label comes from the objective's value; remove le from the query"
            )


def _is_sloth(node: Node) -> bool:
    """Whether a document is a Sloth spec (``version: prometheus/v1`` at the top)."""
    if not isinstance(node, MappingNode):
        return False
    keys = {k.value for k, _ in node.value if isinstance(k, ScalarNode)}
    return "version" in keys and "apiVersion" not in keys
