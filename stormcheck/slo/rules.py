"""Prometheus rules from SLOs: recording rules per window and multi-window multi-burn-rate alerts.

For each SLO, one rule group ``slo-<name>``:

* ``slo:sli_error:ratio_rate<W>`` for every window the alerts need (5m, 30m, 1h, 2h, 6h, 1d, 3d):
  the share of bad events over ``W``, labelled ``slo`` and ``service``;
* ``slo:objective:ratio`` and ``slo:error_budget:ratio`` (constants, for dashboards);
* alerts ``SLOErrorBudgetBurn``, one per severity (``page`` and ``ticket`` by default; an
  OpenSLO ``alertPolicies`` or Sloth ``alerting`` section chooses them), each firing when both
  windows of any of its conditions burn faster than the threshold derived from the budget share
  (:mod:`stormcheck.slo.budget`): the SRE workbook's method. Every alert carries a
  ``runbook_url`` and the SLO file it comes from (``slo_file``).

The same groups serve a plain rule file (``{"groups": [...]}``) and, for the Helm chart, a
``PrometheusRule`` resource of the Prometheus operator.

A log-based SLO (:mod:`stormcheck.slo.log_sli`) has no PromQL, so it gets no rules: it is left
out of the groups, and the rule file's header names it with the reason (:func:`skipped_slos`).
Its burn is judged by evaluating it over windows with the log store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from stormcheck.paths import project_root
from stormcheck.slo.budget import DEFAULT_BURN_ALERTS, BurnRateAlert
from stormcheck.slo.model import RatioSli, Slo, format_duration

__all__ = [
    "ALERT_NAME",
    "RUNBOOK_URL",
    "alert_windows",
    "prometheus_rule_resource",
    "record_name",
    "recorded_windows",
    "render_rule_file",
    "rule_groups",
    "skipped_slos",
    "slo_alerts",
]

ALERT_NAME = "SLOErrorBudgetBurn"
RUNBOOK_URL = f"docs/runbooks/{ALERT_NAME}.md"


def slo_alerts(slo: Slo) -> tuple[BurnRateAlert, ...]:
    """The burn-rate alerts of ``slo``: its own, else the SRE workbook's default four."""
    return DEFAULT_BURN_ALERTS if slo.alerts is None else slo.alerts


def _slo_file(slo: Slo) -> str:
    """The SLO's file, relative to the project when it lies in it (the same on every machine)."""
    if slo.source is None:
        return slo.name
    try:
        return str(slo.source.resolve().relative_to(project_root().resolve()))
    except ValueError:
        return str(slo.source)


def record_name(window_s: int) -> str:
    """The recorded error ratio over a window: ``slo:sli_error:ratio_rate1h``."""
    return f"slo:sli_error:ratio_rate{format_duration(window_s)}"


def alert_windows(alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS) -> list[int]:
    """Every window the alerts read, shortest first, in seconds."""
    return sorted({w for a in alerts for w in (a.long_window_s, a.short_window_s)})


def recorded_windows(slo: Slo, alerts: Sequence[BurnRateAlert] | None = None) -> list[int]:
    """The windows (seconds) whose error ratio the rules of ``slo`` record; none if log-based."""
    if not isinstance(slo.sli, RatioSli):
        return []
    # an SLO without alerts still records the usual windows (for dashboards and the gate)
    return alert_windows((slo_alerts(slo) if alerts is None else alerts) or DEFAULT_BURN_ALERTS)


class _RuleDumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks, as a person would write them."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_RuleDumper.add_representer(str, _represent_text)


def _threshold_text(value: float) -> str:
    # Thresholds are products of short decimals (14.4 * 0.001); rounding removes float noise
    # like 0.014400000000000001 without changing any value that matters.
    return f"{round(value, 12):.12g}"


def skipped_slos(slos: Iterable[Slo]) -> list[tuple[Slo, str]]:
    """The SLOs that get no rules, each with the reason (log-based SLOs have no PromQL)."""
    return [
        (
            slo,
            f"log-based (counted in {slo.sli.backend} log lines by the log store; no PromQL,"
            " so no recording rules or burn-rate alerts)",
        )
        for slo in slos
        if not isinstance(slo.sli, RatioSli)
    ]


def _alert_expr(slo: Slo, alerts: Sequence[BurnRateAlert]) -> str:
    selector = f'{{slo="{slo.name}"}}'
    clauses = []
    for alert in alerts:
        limit = _threshold_text(alert.threshold(slo.period_s) * slo.error_budget)
        clauses.append(
            f"(\n  {record_name(alert.long_window_s)}{selector} > {limit}\nand\n"
            f"  {record_name(alert.short_window_s)}{selector} > {limit}\n)"
        )
    return "\nor\n".join(clauses)


def _group(slo: Slo, sli: RatioSli, alerts: Sequence[BurnRateAlert]) -> dict[str, Any]:
    """The rule group of one SLO; its alerts grouped by severity, ``for`` and extra labels."""
    labels = {"slo": slo.name, "service": slo.service}
    rules: list[dict[str, Any]] = [
        {
            "record": record_name(window_s),
            "expr": sli.error_ratio(format_duration(window_s)),
            "labels": dict(labels),
        }
        for window_s in alert_windows(alerts or DEFAULT_BURN_ALERTS)
    ]
    rules.append(
        {
            "record": "slo:objective:ratio",
            "expr": f"vector({slo.objective!r})",
            "labels": dict(labels),
        }
    )
    rules.append(
        {
            "record": "slo:error_budget:ratio",
            "expr": f"vector({_threshold_text(slo.error_budget)})",
            "labels": dict(labels),
        }
    )
    for key in dict.fromkeys((a.severity, a.for_s, a.labels, a.annotations) for a in alerts):
        severity, for_s, extra_labels, extra_annotations = key
        chosen = [a for a in alerts if (a.severity, a.for_s, a.labels, a.annotations) == key]
        conditions = "; ".join(
            f"{a.threshold(slo.period_s):g}x over {a.long_window} and {a.short_window}"
            for a in chosen
        )
        rule: dict[str, Any] = {"alert": ALERT_NAME, "expr": _alert_expr(slo, chosen)}
        if for_s:
            rule["for"] = format_duration(for_s)
        rule["labels"] = {**dict(extra_labels), **labels, "severity": severity}
        rule["annotations"] = {
            "summary": f"{slo.name} is burning its error budget too fast",
            "description": (
                f"{slo.name} (objective {slo.objective:g} over {slo.period}) burns its"
                f" error budget at {conditions}, or faster."
            ),
            **dict(extra_annotations),
            "runbook_url": RUNBOOK_URL,
            "slo_file": _slo_file(slo),
        }
        rules.append(rule)
    return {"name": f"slo-{slo.name}", "rules": rules}


def rule_groups(
    slos: Iterable[Slo], alerts: Sequence[BurnRateAlert] | None = None
) -> list[dict[str, Any]]:
    """One rule group per Prometheus-based SLO, in the order given (log-based ones are skipped).

    ``alerts`` overrides every SLO's own burn-rate alerts (:func:`slo_alerts`).
    """
    return [
        _group(slo, slo.sli, slo_alerts(slo) if alerts is None else alerts)
        for slo in slos
        if isinstance(slo.sli, RatioSli)
    ]


def render_rule_file(slos: Iterable[Slo], alerts: Sequence[BurnRateAlert] | None = None) -> str:
    """A Prometheus rule file (YAML text) for ``slos``, with a do-not-edit header.

    The header names every SLO left out (:func:`skipped_slos`) and why.
    """
    chosen = list(slos)
    header = "# Generated by `stormcheck slo rules` from platform/slo/; do not edit by hand.\n"
    header += "".join(f"# Skipped {s.name}: {why}.\n" for s, why in skipped_slos(chosen))
    body = yaml.dump(
        {"groups": rule_groups(chosen, alerts)},
        Dumper=_RuleDumper,
        sort_keys=False,
        width=200,
        allow_unicode=True,
    )
    return header + body


def prometheus_rule_resource(
    slos: Iterable[Slo],
    *,
    name: str,
    namespace: str,
    alerts: Sequence[BurnRateAlert] | None = None,
) -> dict[str, Any]:
    """The same groups as a ``monitoring.coreos.com/v1`` ``PrometheusRule`` (for the Helm chart)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "stormcheck"},
        },
        "spec": {"groups": rule_groups(slos, alerts)},
    }
