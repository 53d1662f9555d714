"""Prometheus rules from SLOs: recording rules per window and multi-window multi-burn-rate alerts.

For each SLO, one rule group ``slo-<name>``:

* ``slo:sli_error:ratio_rate<W>`` for every window the alerts need (5m, 30m, 1h, 2h, 6h, 1d, 3d):
  the share of bad events over ``W``, labelled ``slo`` and ``service``;
* ``slo:objective:ratio`` and ``slo:error_budget:ratio`` (constants, for dashboards);
* two alerts ``SLOErrorBudgetBurn`` (``severity: page`` and ``severity: ticket``), each firing
  when both windows of either of its conditions burn faster than the threshold derived from the
  budget share (:mod:`stormcheck.slo.budget`): the SRE workbook's method.

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

from stormcheck.slo.budget import DEFAULT_BURN_ALERTS, BurnRateAlert
from stormcheck.slo.model import RatioSli, Slo, format_duration

__all__ = [
    "ALERT_NAME",
    "alert_windows",
    "prometheus_rule_resource",
    "record_name",
    "recorded_windows",
    "render_rule_file",
    "rule_groups",
    "skipped_slos",
]

ALERT_NAME = "SLOErrorBudgetBurn"


def record_name(window_s: int) -> str:
    """The recorded error ratio over a window: ``slo:sli_error:ratio_rate1h``."""
    return f"slo:sli_error:ratio_rate{format_duration(window_s)}"


def alert_windows(alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS) -> list[int]:
    """Every window the alerts read, shortest first, in seconds."""
    return sorted({w for a in alerts for w in (a.long_window_s, a.short_window_s)})


def recorded_windows(slo: Slo, alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS) -> list[int]:
    """The windows (seconds) whose error ratio the rules of ``slo`` record; none if log-based."""
    return alert_windows(alerts) if isinstance(slo.sli, RatioSli) else []


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
    labels = {"slo": slo.name, "service": slo.service}
    rules: list[dict[str, Any]] = [
        {
            "record": record_name(window_s),
            "expr": sli.error_ratio(format_duration(window_s)),
            "labels": dict(labels),
        }
        for window_s in alert_windows(alerts)
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
    for severity in dict.fromkeys(a.severity for a in alerts):
        chosen = [a for a in alerts if a.severity == severity]
        conditions = "; ".join(
            f"{a.threshold(slo.period_s):g}x over {a.long_window} and {a.short_window}"
            for a in chosen
        )
        rules.append(
            {
                "alert": ALERT_NAME,
                "expr": _alert_expr(slo, chosen),
                "labels": {**labels, "severity": severity},
                "annotations": {
                    "summary": f"{slo.name} is burning its error budget too fast",
                    "description": (
                        f"{slo.name} (objective {slo.objective:g} over {slo.period}) burns its"
                        f" error budget at {conditions}, or faster."
                    ),
                },
            }
        )
    return {"name": f"slo-{slo.name}", "rules": rules}


def rule_groups(
    slos: Iterable[Slo], alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS
) -> list[dict[str, Any]]:
    """One rule group per Prometheus-based SLO, in the order given (log-based ones are skipped)."""
    return [_group(slo, slo.sli, alerts) for slo in slos if isinstance(slo.sli, RatioSli)]


def render_rule_file(
    slos: Iterable[Slo], alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS
) -> str:
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
    alerts: Sequence[BurnRateAlert] = DEFAULT_BURN_ALERTS,
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
