"""Every metric the project's rules, dashboards and SLOs read, derived from their expressions.

The list is parsed, never kept by hand, so a test can compare it with what a running Prometheus
actually has and name what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.observability.rules import RuleSet, metric_names, observability_dir, read_rules
from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.model import RatioSli

__all__ = ["dashboard_exprs", "used_metrics"]


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def dashboard_exprs(root: Path | None = None) -> dict[str, list[str]]:
    """Dashboard file name → every PromQL ``expr`` in it (panels, annotations)."""
    found = {}
    for path in sorted((observability_dir(root) / "dashboards").glob("*.json")):
        try:
            found[path.name] = list(_exprs(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a dashboard JSON file: {exc}") from None
    return found


def used_metrics(root: Path | None = None) -> dict[str, set[str]]:
    """Scraped metric name → who reads it (``alert:X``, ``record:Y``, ``dashboard:F``, ``slo:Z``).

    Recording rules are resolved to the metrics they are computed from; ``ALERTS`` (Prometheus'
    own series of alert states) is left out.
    """
    rules: RuleSet = read_rules(
        None if root is None else sorted((observability_dir(root) / "rules").glob("*.rules.yml"))
    )
    users: dict[str, set[str]] = {}
    for alert in rules.alerts:
        for name in rules.source_metrics(alert.expr):
            users.setdefault(name, set()).add(f"alert:{alert.name}")
    for rule in rules.recordings:
        for name in rules.source_metrics(rule.expr):
            users.setdefault(name, set()).add(f"record:{rule.record}")
    for dashboard, exprs in dashboard_exprs(root).items():
        for expr in exprs:
            for name in rules.source_metrics(expr):
                users.setdefault(name, set()).add(f"dashboard:{dashboard}")
    for slo in read_slos(slo_files([(root or project_root()) / "platform" / "slo"])):
        if not isinstance(slo.sli, RatioSli):
            continue  # answered by the log store, not by Prometheus
        for query in (slo.sli.good, slo.sli.bad, slo.sli.total):
            for name in metric_names(query) if query is not None else ():
                users.setdefault(name, set()).add(f"slo:{slo.name}")
    users.pop("ALERTS", None)
    return users
