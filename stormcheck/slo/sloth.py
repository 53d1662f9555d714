"""Sloth's ``prometheus/v1`` SLO spec, read beside OpenSLO so Sloth users keep their files.

A Sloth document (``version: "prometheus/v1"``) names a ``service`` and lists ``slos``; each SLO
has a ``name``, an ``objective`` in percent (``99.9``) and ``sli.events`` with an
``error_query`` and a ``total_query`` — full PromQL with Sloth's ``{{.window}}`` placeholder,
rewritten to the evaluated window like any other query (:mod:`stormcheck.slo.expressions`).

Mapping to the engine's SLO: the name is ``<service>-<name>`` (Sloth's SLO id); bad = the error
query, total = the total query; the period is Sloth's default, 30 days (the spec has no field for
it); ``alerting`` gives the multi-window burn-rate alerts Sloth itself would generate (page: 2 %
of the budget in 1 h or 5 % in 6 h; ticket: 10 % in 1 d or 3 d — the engine's defaults), where
``page_alert.disable``/``ticket_alert.disable`` drop one severity, ``alerting.labels`` and each
alert's ``labels`` go on the alert rule and ``annotations`` into its annotations, and
``alerting.name`` becomes the annotation ``sloth_alert_name`` (the engine names every burn-rate
alert ``SLOErrorBudgetBurn``, so one runbook and one route serve them all). The document's and
the SLO's ``labels`` go on the SLO's alerts too. ``sli.raw`` (a precomputed error ratio) and
``sli.plugin`` are refused: a ratio cannot be summed over a window, and plugins are Sloth's code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from yaml.nodes import MappingNode, Node, ScalarNode

from stormcheck.slo.budget import DEFAULT_BURN_ALERTS, BurnRateAlert
from stormcheck.slo.model import RatioSli, Slo
from stormcheck.slo.nodes import Invalid, NodeReader

__all__ = ["SLOTH_PERIOD_S", "SLOTH_VERSION", "read_sloth"]

SLOTH_VERSION = "prometheus/v1"
SLOTH_PERIOD_S = 30 * 86400  # Sloth's default SLO period

_TOP = frozenset({"version", "service", "labels", "slos"})
_SLO = frozenset({"name", "objective", "description", "labels", "sli", "alerting"})
_SLI = frozenset({"events", "raw", "plugin"})
_EVENTS = frozenset({"error_query", "total_query"})
_ALERTING = frozenset({"name", "labels", "annotations", "page_alert", "ticket_alert"})
_ALERT = frozenset({"disable", "labels", "annotations"})


def _unsupported(field: str) -> dict[str, str]:
    return {
        f"{field}.sli.raw": "a precomputed error ratio cannot be summed over a window; give"
        " events.error_query and events.total_query",
        f"{field}.sli.plugin": "Sloth plugins are Sloth's code; give events.error_query and"
        " events.total_query",
    }


def _labels(reader: NodeReader, node: Node, field: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, MappingNode):
        raise reader.fail(node, field, "expected a mapping of names to strings")
    pairs = []
    for key, value in node.value:
        if not isinstance(key, ScalarNode) or not isinstance(value, ScalarNode):
            raise reader.fail(key, field, "expected a mapping of names to strings")
        pairs.append((str(key.value), str(value.value)))
    return tuple(pairs)


CounterQueryReader = Callable[[Node, str], str]


def read_sloth(reader: NodeReader, root: Node, counter_query: CounterQueryReader) -> list[Slo]:
    """The SLOs of one Sloth document; problems are recorded on ``reader``.

    ``counter_query(node, field)`` reads and checks one Prometheus query (the loader's).
    """
    top = reader.mapping(root, "", _TOP)
    version = reader.string(reader.required(top, "version", root, ""), "version")
    if version != SLOTH_VERSION:
        raise reader.fail(
            top["version"][1],
            "version",
            f"expected {SLOTH_VERSION} (Sloth's spec), got {version!r}",
        )
    service = reader.string(reader.required(top, "service", root, ""), "service")
    common = _labels(reader, top["labels"][1], "labels") if "labels" in top else ()
    slos: list[Slo] = []
    for i, node in enumerate(reader.sequence(reader.required(top, "slos", root, ""), "slos")):
        try:
            slos.append(
                _slo(
                    reader,
                    node,
                    f"slos[{i}]",
                    service=service,
                    common=common,
                    counter_query=counter_query,
                )
            )
        except Invalid:
            continue
    return slos


def _slo(
    reader: NodeReader,
    node: Node,
    field: str,
    *,
    service: str,
    common: tuple[tuple[str, str], ...],
    counter_query: CounterQueryReader,
) -> Slo:
    # imported here: the loader imports this module
    from stormcheck.slo.loader import NAME

    items = reader.mapping(node, field, _SLO, _unsupported(field))
    name_node = reader.required(items, "name", node, field)
    name = f"{service}-{reader.string(name_node, f'{field}.name')}"
    if not NAME.match(name):
        reader.problem(
            name_node,
            f"{field}.name",
            f"{name!r} (service-name) is not a DNS label (lower-case letters, digits and '-',"
            " at most 63)",
        )
    objective_node = reader.required(items, "objective", node, field)
    percent = reader.number(objective_node, f"{field}.objective")
    if not 0 < percent < 100:
        raise reader.fail(
            objective_node, f"{field}.objective", f"{percent:g} is not a percentage in (0, 100)"
        )
    description = (
        reader.string(items["description"][1], f"{field}.description")
        if "description" in items
        else ""
    )
    labels = common
    if "labels" in items:
        labels += _labels(reader, items["labels"][1], f"{field}.labels")
    sli_node = reader.required(items, "sli", node, field)
    sli = reader.mapping(sli_node, f"{field}.sli", _SLI, _unsupported(field))
    if "raw" in sli or "plugin" in sli:
        raise Invalid
    events_node = reader.required(sli, "events", sli_node, f"{field}.sli")
    events = reader.mapping(events_node, f"{field}.sli.events", _EVENTS)
    where = f"{field}.sli.events"
    error = counter_query(
        reader.required(events, "error_query", events_node, where), f"{where}.error_query"
    )
    total = counter_query(
        reader.required(events, "total_query", events_node, where), f"{where}.total_query"
    )
    if "alerting" in items:
        alerts = _alerts(reader, items["alerting"][1], f"{field}.alerting", labels)
    else:
        alerts = tuple(replace(a, labels=labels) for a in DEFAULT_BURN_ALERTS)
    return Slo(
        name=name,
        service=service,
        description=description,
        sli=RatioSli(bad=error, total=total),
        objective=percent / 100,
        period_s=SLOTH_PERIOD_S,
        source=reader.path,
        line=node.start_mark.line + 1,
        alerts=alerts,
    )


def _alerts(
    reader: NodeReader, node: Node, field: str, labels: tuple[tuple[str, str], ...]
) -> tuple[BurnRateAlert, ...]:
    items = reader.mapping(node, field, _ALERTING)
    shared_labels = labels + (
        _labels(reader, items["labels"][1], f"{field}.labels") if "labels" in items else ()
    )
    shared_annotations = (
        _labels(reader, items["annotations"][1], f"{field}.annotations")
        if "annotations" in items
        else ()
    )
    if "name" in items:
        alert_name = reader.string(items["name"][1], f"{field}.name")
        shared_annotations += (("sloth_alert_name", alert_name),)
    chosen: list[BurnRateAlert] = []
    for severity, key in (("page", "page_alert"), ("ticket", "ticket_alert")):
        own_labels: tuple[tuple[str, str], ...] = ()
        own_annotations: tuple[tuple[str, str], ...] = ()
        if key in items:
            alert = reader.mapping(items[key][1], f"{field}.{key}", _ALERT)
            if "disable" in alert and reader.scalar(alert["disable"][1]) is True:
                continue
            if "labels" in alert:
                own_labels = _labels(reader, alert["labels"][1], f"{field}.{key}.labels")
            if "annotations" in alert:
                own_annotations = _labels(
                    reader, alert["annotations"][1], f"{field}.{key}.annotations"
                )
        chosen.extend(
            replace(
                a,
                labels=shared_labels + own_labels,
                annotations=shared_annotations + own_annotations,
            )
            for a in DEFAULT_BURN_ALERTS
            if a.severity == severity
        )
    return tuple(chosen)
