"""The Prometheus rule files as data, and the metrics their expressions use.

Metric names come from parsing each expression with a real PromQL parser (``promql-parser``,
the Rust parser of GreptimeDB), never from a list kept by hand: a recording rule's output is
resolved to the metrics it is computed from, so "what must exist on the platform" is exactly what
the rules read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stormcheck.errors import ConfigError
from stormcheck.paths import project_root

__all__ = [
    "AlertRule",
    "RecordingRule",
    "RuleSet",
    "metric_names",
    "observability_dir",
    "read_rules",
    "rule_files",
]


def observability_dir(root: Path | None = None) -> Path:
    """``platform/observability``: rules, Prometheus and Alertmanager configuration, dashboards."""
    return (root or project_root()) / "platform" / "observability"


def rule_files(root: Path | None = None) -> list[Path]:
    """Every rule file (``rules/*.rules.yml``), sorted."""
    return sorted((observability_dir(root) / "rules").glob("*.rules.yml"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRule:
    """One alerting rule, with where it was written."""

    name: str
    expr: str
    for_: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    file: Path
    group: str

    @property
    def severity(self) -> str:
        """The ``severity`` label (empty when missing)."""
        return self.labels.get("severity", "")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRule:
    """One recording rule."""

    record: str
    expr: str
    labels: Mapping[str, str]
    file: Path
    group: str


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every rule of a set of files."""

    alerts: tuple[AlertRule, ...] = ()
    recordings: tuple[RecordingRule, ...] = ()
    _records: dict[str, list[RecordingRule]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for rule in self.recordings:
            self._records.setdefault(rule.record, []).append(rule)

    def source_metrics(self, expr: str) -> set[str]:
        """The scraped metrics ``expr`` reads, through any recording rules it uses."""
        found: set[str] = set()
        pending = list(metric_names(expr))
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self._records:
                for rule in self._records[name]:
                    pending.extend(metric_names(rule.expr))
            else:
                found.add(name)
        return found

    def all_source_metrics(self) -> dict[str, set[str]]:
        """Scraped metric name → the rules (alert or record names) that read it."""
        users: dict[str, set[str]] = {}
        for alert in self.alerts:
            for name in self.source_metrics(alert.expr):
                users.setdefault(name, set()).add(alert.name)
        for rule in self.recordings:
            for name in self.source_metrics(rule.expr):
                users.setdefault(name, set()).add(rule.record)
        return users


def metric_names(expr: str) -> set[str]:
    """The metric names of every series selector in ``expr``; :class:`ConfigError` if unparsable.

    A selector by ``{__name__="..."}`` counts; one without a fixed name (``{__name__=~"..."}``)
    names no metric and is left out.
    """
    # imported here: the rest of the package (rendering, components) works without the parser
    import promql_parser

    try:
        tree = promql_parser.parse(expr)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not PromQL: {expr!r}: {exc}") from None
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        selector: Any = node
        if isinstance(node, promql_parser.MatrixSelector):
            selector = node.vector_selector
        if isinstance(selector, promql_parser.VectorSelector):
            if selector.name:
                names.add(selector.name)
            for matcher in selector.matchers.matchers:
                if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
                    names.add(matcher.value)
        return True

    promql_parser.walk(tree, pre_visit=visit)
    return names


def _text_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return {str(k): str(v) for k, v in value.items()}


def _load_file(path: Path) -> tuple[list[AlertRule], list[RecordingRule]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read rule file: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ConfigError(f"{path}: expected a mapping with a `groups` list")
    alerts: list[AlertRule] = []
    records: list[RecordingRule] = []
    for g_index, group in enumerate(data["groups"]):
        where = f"{path}: groups[{g_index}]"
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            raise ConfigError(f"{where}: expected a mapping with `name` and a `rules` list")
        name = str(group.get("name", ""))
        for r_index, rule in enumerate(group["rules"]):
            at = f"{where}.rules[{r_index}]"
            if not isinstance(rule, dict) or "expr" not in rule:
                raise ConfigError(f"{at}: expected a rule with `expr`")
            if "alert" in rule:
                alerts.append(
                    AlertRule(
                        name=str(rule["alert"]),
                        expr=str(rule["expr"]),
                        for_=str(rule.get("for", "0s")),
                        labels=_text_map(rule.get("labels"), f"{at}.labels"),
                        annotations=_text_map(rule.get("annotations"), f"{at}.annotations"),
                        file=path,
                        group=name,
                    )
                )
            elif "record" in rule:
                records.append(
                    RecordingRule(
                        record=str(rule["record"]),
                        expr=str(rule["expr"]),
                        labels=_text_map(rule.get("labels"), f"{at}.labels"),
                        file=path,
                        group=name,
                    )
                )
            else:
                raise ConfigError(f"{at}: a rule needs `alert` or `record`")
    return alerts, records


def read_rules(paths: Iterable[Path] | None = None) -> RuleSet:
    """Every rule of ``paths`` (default: :func:`rule_files`)."""
    alerts: list[AlertRule] = []
    records: list[RecordingRule] = []
    for path in rule_files() if paths is None else paths:
        more_alerts, more_records = _load_file(path)
        alerts += more_alerts
        records += more_records
    return RuleSet(tuple(alerts), tuple(records))
