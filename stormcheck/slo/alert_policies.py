"""OpenSLO ``alertPolicies`` → the multi-window burn-rate alerts the engine generates.

An inline ``kind: AlertPolicy`` holds ``conditions``, each an inline ``kind: AlertCondition``
whose ``spec.condition`` is ``{kind: burnrate, op: gte|gt, threshold: T, lookbackWindow: L,
alertAfter: A}``. Each condition becomes one :class:`~stormcheck.slo.budget.BurnRateAlert`:

* ``spec.severity`` → the alert's ``severity`` label;
* ``lookbackWindow`` L → the long window; the short window is L/12 (the SRE workbook's ratio),
  so the alert stops soon after the burn does;
* ``threshold`` T → the burn rate both windows must exceed, i.e. the share ``T·L/period`` of the
  budget spent within L (it may not exceed the whole budget);
* ``alertAfter`` A → the rule's ``for: A``;
* the policy's and the condition's names → the annotations ``alert_policy`` and
  ``alert_condition``; ``notificationTargets`` → the annotation ``notification_targets`` (routing
  is Alertmanager's: route on the ``slo``, ``service`` and ``severity`` labels).

``alertWhenBreaching`` must be true (or absent) and ``alertWhenNoData`` false (or absent): the
rules alert on burn only, and a missing signal is the detection rules' job. ``alertWhenResolved``
is Alertmanager's ``send_resolved``, accepted and not mapped. References (``alertPolicyRef``,
``conditionRef``) are refused: inline the policy. The whole mapping is in platform/slo/README.md.
"""

from __future__ import annotations

from yaml.nodes import Node

from stormcheck.slo.budget import BurnRateAlert
from stormcheck.slo.model import parse_duration
from stormcheck.slo.nodes import Invalid, NodeReader

__all__ = ["read_alert_policies"]

_POLICY = frozenset({"apiVersion", "kind", "metadata", "spec", "alertPolicyRef"})
_POLICY_SPEC = frozenset(
    {
        "description",
        "alertWhenNoData",
        "alertWhenResolved",
        "alertWhenBreaching",
        "conditions",
        "notificationTargets",
    }
)
_CONDITION = frozenset({"kind", "metadata", "spec", "conditionRef"})
_CONDITION_SPEC = frozenset({"description", "severity", "condition"})
_BURNRATE = frozenset({"kind", "op", "threshold", "lookbackWindow", "alertAfter"})
_METADATA = frozenset({"name", "displayName", "labels", "annotations"})
_REFERENCE = "references are not resolved; inline the policy (kind: AlertPolicy)"


def _name(reader: NodeReader, items: dict[str, tuple[Node, Node]], field: str) -> str:
    if "metadata" not in items:
        return ""
    metadata = reader.mapping(items["metadata"][1], f"{field}.metadata", _METADATA)
    if "name" not in metadata:
        return ""
    return reader.string(metadata["name"][1], f"{field}.metadata.name")


def read_alert_policies(reader: NodeReader, node: Node, period_s: int) -> tuple[BurnRateAlert, ...]:
    """The burn-rate alerts of ``spec.alertPolicies``; problems are recorded on ``reader``."""
    field = "spec.alertPolicies"
    alerts: list[BurnRateAlert] = []
    for i, policy_node in enumerate(reader.sequence(node, field)):
        where = f"{field}[{i}]"
        try:
            alerts.extend(_policy(reader, policy_node, where, period_s))
        except Invalid:
            continue
    if not alerts and not reader.problems:
        reader.problem(node, field, "no burn-rate condition: give at least one, or leave it out")
    return tuple(alerts)


def _policy(reader: NodeReader, node: Node, field: str, period_s: int) -> list[BurnRateAlert]:
    items = reader.mapping(node, field, _POLICY, {f"{field}.alertPolicyRef": _REFERENCE})
    if "alertPolicyRef" in items:
        raise Invalid
    kind = reader.string(reader.required(items, "kind", node, field), f"{field}.kind")
    if kind != "AlertPolicy":
        raise reader.fail(items["kind"][1], f"{field}.kind", f"expected AlertPolicy, got {kind!r}")
    policy = _name(reader, items, field)
    spec_node = reader.required(items, "spec", node, field)
    spec = reader.mapping(spec_node, f"{field}.spec", _POLICY_SPEC)
    for key, wanted in (("alertWhenBreaching", True), ("alertWhenNoData", False)):
        if key in spec and reader.scalar(spec[key][1]) is not wanted:
            reader.problem(
                spec[key][1],
                f"{field}.spec.{key}",
                f"expected {str(wanted).lower()}: the generated alerts fire on burn only"
                " (a missing signal is the detection rules' job)",
            )
    targets: list[str] = []
    if "notificationTargets" in spec:
        for j, target in enumerate(
            reader.sequence(spec["notificationTargets"][1], f"{field}.spec.notificationTargets")
        ):
            target_field = f"{field}.spec.notificationTargets[{j}]"
            target_items = reader.mapping(
                target, target_field, frozenset({"targetRef", "kind", "metadata", "spec"})
            )
            if "targetRef" in target_items:
                targets.append(reader.string(target_items["targetRef"][1], target_field))
            else:
                targets.append(_name(reader, target_items, target_field) or f"target-{j}")
    conditions_node = reader.required(spec, "conditions", spec_node, f"{field}.spec")
    alerts = []
    for j, condition in enumerate(reader.sequence(conditions_node, f"{field}.spec.conditions")):
        alert = _condition(
            reader,
            condition,
            f"{field}.spec.conditions[{j}]",
            period_s=period_s,
            policy=policy,
            targets=targets,
        )
        alerts.append(alert)
    return alerts


def _condition(
    reader: NodeReader,
    node: Node,
    field: str,
    *,
    period_s: int,
    policy: str,
    targets: list[str],
) -> BurnRateAlert:
    items = reader.mapping(node, field, _CONDITION, {f"{field}.conditionRef": _REFERENCE})
    if "conditionRef" in items:
        raise Invalid
    kind = reader.string(reader.required(items, "kind", node, field), f"{field}.kind")
    if kind != "AlertCondition":
        raise reader.fail(
            items["kind"][1], f"{field}.kind", f"expected AlertCondition, got {kind!r}"
        )
    name = _name(reader, items, field)
    spec_node = reader.required(items, "spec", node, field)
    spec = reader.mapping(spec_node, f"{field}.spec", _CONDITION_SPEC)
    severity = reader.string(
        reader.required(spec, "severity", spec_node, f"{field}.spec"), f"{field}.spec.severity"
    )
    body_node = reader.required(spec, "condition", spec_node, f"{field}.spec")
    where = f"{field}.spec.condition"
    body = reader.mapping(body_node, where, _BURNRATE)
    condition_kind = reader.string(reader.required(body, "kind", body_node, where), f"{where}.kind")
    if condition_kind.lower() != "burnrate":
        raise reader.fail(
            body["kind"][1], f"{where}.kind", f"expected burnrate, got {condition_kind!r}"
        )
    op = reader.string(reader.required(body, "op", body_node, where), f"{where}.op")
    if op not in {"gte", "gt"}:
        raise reader.fail(
            body["op"][1],
            f"{where}.op",
            f"expected gte or gt (alert when burning faster), got {op!r}",
        )
    threshold_node = reader.required(body, "threshold", body_node, where)
    threshold = reader.number(threshold_node, f"{where}.threshold")
    long_s = _duration(reader, reader.required(body, "lookbackWindow", body_node, where), where)
    for_s = (
        _duration(reader, body["alertAfter"][1], where, key="alertAfter")
        if "alertAfter" in body
        else 0
    )
    share = threshold * long_s / period_s
    if not 0 < share <= 1:
        raise reader.fail(
            threshold_node,
            f"{where}.threshold",
            f"a burn rate of {threshold:g} over {long_s} s spends {share:.3g} of the budget;"
            " expected more than 0 and at most the whole budget",
        )
    annotations = [("alert_policy", policy), ("alert_condition", name)]
    if targets:
        annotations.append(("notification_targets", ", ".join(targets)))
    return BurnRateAlert(
        severity=severity,
        budget_share=share,
        long_window_s=long_s,
        short_window_s=max(long_s // 12, 1),
        for_s=for_s,
        annotations=tuple((k, v) for k, v in annotations if v),
    )


def _duration(reader: NodeReader, node: Node, where: str, *, key: str = "lookbackWindow") -> int:
    text = reader.string(node, f"{where}.{key}")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise reader.fail(node, f"{where}.{key}", str(exc)) from None
