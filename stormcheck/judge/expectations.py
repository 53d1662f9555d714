"""The expected outcome of every experiment, as data: ``experiments/local/expected.yaml``.

One row per experiment file (by stem): the allowed verdicts per SLO over the fault and the
recovery window (a set of more than one outcome carries its reason), the limits (time to detect,
time to recover, error budget), the detection alerts, a remediation hint, the runbook, and
whether the single-writer check applies (``single_writer``: :mod:`~stormcheck.judge.writers`).
Beside the rows: the recovery rule (design §4's buckets), the client-side availability objective, the
named lists (``smoke``, ``all``) and the score weights.

:func:`read_expectations` reads it with located errors (``file:line: field: message``, as the SLO
loader's), every problem of the file at once, in one :class:`~stormcheck.errors.ConfigError`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from stormcheck.errors import ConfigError
from stormcheck.paths import project_root
from stormcheck.slo.model import parse_duration
from stormcheck.slo.nodes import STR_TAG, Invalid, NodeReader, describe_node
from stormcheck.slo.yaml_source import YamlSourceError, read_documents
from stormcheck.verdict import Outcome

__all__ = [
    "CLIENT_SLO",
    "ClientObjective",
    "Expectations",
    "FaultKind",
    "Limits",
    "RecoveryRule",
    "Row",
    "SloExpectation",
    "default_expectations_path",
    "read_expectations",
]

CLIENT_SLO = "client-availability"  # the request log's success ratio (no Prometheus needed)
_JOURNAL_OUTCOMES = ("held", "deviated")


class FaultKind(enum.StrEnum):
    """How a fault acts in time: once (recovery from the injection) or held (from the revert)."""

    KILL = "kill"
    DURATION = "duration"


@dataclass(frozen=True, slots=True, kw_only=True)
class SloExpectation:
    """The verdicts an SLO may have over the fault window and over the recovery window."""

    slo: str
    fault: frozenset[Outcome]
    recovery: frozenset[Outcome]
    reason: str = ""

    def allowed(self, window: str) -> frozenset[Outcome]:
        """The allowed set of ``window`` (``fault`` or ``recovery``)."""
        return self.fault if window == "fault" else self.recovery

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fault": sorted(o.value for o in self.fault),
            "recovery": sorted(o.value for o in self.recovery),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What the platform must do at most; ``None``: measured and reported, not judged."""

    detect_s: float | None = None
    recover_s: float | None = None
    budget: float | None = None  # a share of the SLO period's error budget (0.005 = 0.5 %)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"detect_s": self.detect_s, "recover_s": self.recover_s, "budget": self.budget}


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """The expected outcome of one experiment (``experiment`` is its file's stem)."""

    experiment: str
    fault: FaultKind
    journal: frozenset[str]
    slos: tuple[SloExpectation, ...]
    limits: Limits
    alerts: tuple[str, ...]
    remediation: str
    runbook: str
    budget_slos: tuple[str, ...] = ()
    journal_reason: str = ""
    note: str = ""
    smoke: Mapping[str, int] = field(default_factory=dict)
    single_writer: bool = False  # judge "never two writable PostgreSQL members" (the sampler)
    line: int | None = None

    def slo(self, name: str) -> SloExpectation | None:
        """The expectation of SLO ``name``, if the row has one."""
        return next((s for s in self.slos if s.slo == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``expected`` section of a resilience result)."""
        return {
            "experiment": self.experiment,
            "fault": self.fault.value,
            "journal": sorted(self.journal),
            "journal_reason": self.journal_reason,
            "slos": {s.slo: s.to_dict() for s in self.slos},
            "limits": self.limits.to_dict(),
            "budget_slos": list(self.budget_slos),
            "alerts": list(self.alerts),
            "remediation": self.remediation,
            "runbook": self.runbook,
            "note": self.note,
            "smoke": dict(self.smoke),
            "single_writer": self.single_writer,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryRule:
    """Design §4: recovered from the first instant after which every ``bucket_s`` bucket of the
    request log meets ``min_success_ratio`` and ``max_p95_ms`` for ``hold_s``."""

    bucket_s: float = 1.0
    hold_s: float = 30.0
    min_success_ratio: float = 0.999
    max_p95_ms: float = 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientObjective:
    """The client-side availability SLO: the objective and period of its budget."""

    objective: float = 0.999
    period_s: float = 30 * 86400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    """The whole file: rows by experiment, named lists, weights, the recovery rule."""

    path: Path
    rows: Mapping[str, Row]
    lists: Mapping[str, tuple[str, ...]]
    weights: Mapping[str, float]
    recovery: RecoveryRule
    client: ClientObjective

    def row(self, experiment: str) -> Row:
        """The row of ``experiment``; :class:`ConfigError` naming the file when there is none."""
        try:
            return self.rows[experiment]
        except KeyError:
            raise ConfigError(
                f"{self.path}: rows: no row for experiment {experiment!r}; expected one of "
                + ", ".join(sorted(self.rows))
            ) from None

    def named(self, name: str) -> tuple[Row, ...]:
        """The rows of list ``name`` (``smoke``, ``all``), in the list's order."""
        if name not in self.lists:
            raise ConfigError(
                f"{self.path}: lists: no list {name!r}; expected one of {', '.join(self.lists)}"
            )
        return tuple(self.rows[stem] for stem in self.lists[name])


def default_expectations_path() -> Path:
    """``experiments/local/expected.yaml`` of the project."""
    return project_root() / "experiments" / "local" / "expected.yaml"


def read_expectations(path: Path | None = None) -> Expectations:
    """The expectations at ``path`` (default: the project's); :class:`ConfigError` with one
    ``file:line: field: message`` line per problem."""
    where = path or default_expectations_path()
    reader = _Reader(where)
    result: Expectations | None = None
    try:
        documents = list(read_documents(where))
        if len(documents) != 1:
            reader.problem(None, "", f"expected one YAML document, found {len(documents)}")
        else:
            node, loader = documents[0]
            reader.loader = loader
            result = reader.document(node)
    except YamlSourceError as exc:
        reader.problems.append(exc.problem)
    except Invalid:
        pass
    if reader.problems or result is None:
        raise ConfigError(
            f"{len(reader.problems)} problem(s) in {where}:\n"
            + "\n".join(str(p) for p in reader.problems)
        )
    return result


_TOP = frozenset({"version", "recovery", "client", "lists", "weights", "rows"})
_ROW = frozenset(
    {
        "fault",
        "journal",
        "journal_reason",
        "slos",
        "limits",
        "budget_slos",
        "alerts",
        "remediation",
        "runbook",
        "note",
        "smoke",
        "single_writer",
    }
)
_SLO = frozenset({"fault", "recovery", "reason"})
_LIMITS = frozenset({"detect_s", "recover_s", "budget"})
_RECOVERY = frozenset({"bucket_s", "hold_s", "min_success_ratio", "max_p95_ms"})
_CLIENT = frozenset({"objective", "period"})
_SMOKE = frozenset({"fault_duration_s", "recovery_watch_s"})


class _Reader(NodeReader):
    row_names: frozenset[str] = frozenset()

    def document(self, root: Node) -> Expectations:
        top = self.mapping(root, "", _TOP)
        version = self.integer(self.required(top, "version", root, ""), "version")
        if version != 1:
            self.problem(top["version"][1], "version", f"expected 1, got {version}")
        recovery = self._recovery(top["recovery"][1]) if "recovery" in top else RecoveryRule()
        client = self._client(top["client"][1]) if "client" in top else ClientObjective()
        rows_node = self.required(top, "rows", root, "")
        rows: dict[str, Row] = {}
        named = self.keyed(rows_node, "rows")
        self.row_names = frozenset(named)  # a row with problems is still a row for the lists
        for key, (key_node, value) in named.items():
            try:
                rows[key] = self._row(key, value, key_node)
            except Invalid:
                continue
        lists = self._lists(self.required(top, "lists", root, ""), rows)
        weights = self._weights(self.required(top, "weights", root, ""), rows)
        return Expectations(
            path=self.path,
            rows=rows,
            lists=lists,
            weights=weights,
            recovery=recovery,
            client=client,
        )

    def keyed(self, node: Node, field: str) -> dict[str, tuple[Node, Node]]:
        """A mapping keyed by names of the file's choosing (experiments, SLOs, lists)."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, field, f"expected a mapping, got {describe_node(node)}")
        items: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != STR_TAG or not key:
                self.problem(key_node, field, "keys must be plain strings")
            elif key in items:
                self.problem(key_node, f"{field}.{key}", "duplicate key")
            else:
                items[key] = (key_node, value_node)
        return items

    def _positive(self, node: Node, field: str, *, allow_zero: bool = False) -> float:
        value = self.number(node, field)
        if value < 0 or (value == 0 and not allow_zero):
            raise self.fail(
                node, field, "expected a number >= 0" if allow_zero else "expected a number > 0"
            )
        return value

    def _share(self, node: Node, field: str) -> float:
        value = self.number(node, field)
        if not 0 < value < 1:
            raise self.fail(node, field, f"expected a share in (0, 1), got {value:g}")
        return value

    def _recovery(self, node: Node) -> RecoveryRule:
        items = self.mapping(node, "recovery", _RECOVERY)
        values: dict[str, float] = {}
        for key, (_k, value) in items.items():
            where = f"recovery.{key}"
            values[key] = (
                self._share(value, where)
                if key == "min_success_ratio"
                else self._positive(value, where)
            )
        return RecoveryRule(**values)

    def _client(self, node: Node) -> ClientObjective:
        items = self.mapping(node, "client", _CLIENT)
        objective = (
            self._share(items["objective"][1], "client.objective")
            if "objective" in items
            else 0.999
        )
        period_s = 30 * 86400.0
        if "period" in items:
            text = self.string(items["period"][1], "client.period")
            try:
                period_s = float(parse_duration(text))
            except ValueError as exc:
                raise self.fail(items["period"][1], "client.period", str(exc)) from None
        return ClientObjective(objective=objective, period_s=period_s)

    def _outcomes(self, node: Node, field: str) -> frozenset[Outcome]:
        found: set[Outcome] = set()
        for item in self.sequence(node, field):
            text = self.string(item, field)
            try:
                found.add(Outcome(text))
            except ValueError:
                self.problem(item, field, f"expected one of pass, fail, inconclusive, got {text!r}")
        if not found:
            raise self.fail(node, field, "expected at least one outcome")
        return frozenset(found)

    def _slo(self, name: str, node: Node, field: str) -> SloExpectation:
        items = self.mapping(node, field, _SLO)
        fault = self._outcomes(self.required(items, "fault", node, field), f"{field}.fault")
        recovery = self._outcomes(
            self.required(items, "recovery", node, field), f"{field}.recovery"
        )
        reason = self.string(items["reason"][1], f"{field}.reason") if "reason" in items else ""
        if (len(fault) > 1 or len(recovery) > 1) and not reason:
            self.problem(node, f"{field}.reason", "a set of more than one outcome needs its reason")
        return SloExpectation(slo=name, fault=fault, recovery=recovery, reason=reason)

    def _names(self, node: Node, field: str) -> tuple[str, ...]:
        return tuple(self.string(item, field) for item in self.sequence(node, field))

    def _row(self, stem: str, node: Node, key_node: Node) -> Row:
        field = f"rows.{stem}"
        items = self.mapping(node, field, _ROW)
        fault_node = self.required(items, "fault", node, field)
        fault_text = self.string(fault_node, f"{field}.fault")
        try:
            fault = FaultKind(fault_text)
        except ValueError:
            raise self.fail(
                fault_node, f"{field}.fault", f"expected kill or duration, got {fault_text!r}"
            ) from None
        journal = frozenset(
            self._names(self.required(items, "journal", node, field), f"{field}.journal")
        )
        bad = sorted(journal - set(_JOURNAL_OUTCOMES))
        if bad or not journal:
            self.problem(
                items["journal"][1],
                f"{field}.journal",
                f"expected a non-empty list of held, deviated; got {sorted(journal)}",
            )
        journal_reason = (
            self.string(items["journal_reason"][1], f"{field}.journal_reason")
            if "journal_reason" in items
            else ""
        )
        if len(journal) > 1 and not journal_reason:
            self.problem(
                items["journal"][1], f"{field}.journal_reason", "two readings allowed: say why"
            )
        slos_node = self.required(items, "slos", node, field)
        slos = []
        for name, (_k, value) in self.keyed(slos_node, f"{field}.slos").items():
            try:
                slos.append(self._slo(name, value, f"{field}.slos.{name}"))
            except Invalid:
                continue
        if not slos and not self.problems:
            self.problem(slos_node, f"{field}.slos", "expected at least one SLO")
        limits = (
            self._limits(items["limits"][1], f"{field}.limits") if "limits" in items else Limits()
        )
        budget_slos = (
            self._names(items["budget_slos"][1], f"{field}.budget_slos")
            if "budget_slos" in items
            else ()
        )
        if limits.budget is not None and not budget_slos:
            self.problem(
                items["limits"][1], f"{field}.budget_slos", "a budget limit needs the SLOs it is on"
            )
        for name in budget_slos:
            if name not in {s.slo for s in slos}:
                self.problem(
                    items["budget_slos"][1],
                    f"{field}.budget_slos",
                    f"{name!r} is not one of the row's slos",
                )
        alerts = self._names(self.required(items, "alerts", node, field), f"{field}.alerts")
        if limits.detect_s is not None and not alerts:
            self.problem(
                items["alerts"][1], f"{field}.alerts", "a detection limit needs its alerts"
            )
        remediation = self.string(
            self.required(items, "remediation", node, field), f"{field}.remediation"
        )
        runbook = self.string(self.required(items, "runbook", node, field), f"{field}.runbook")
        note = self.string(items["note"][1], f"{field}.note") if "note" in items else ""
        smoke: dict[str, int] = {}
        if "smoke" in items:
            for key, (_k, value) in self.mapping(
                items["smoke"][1], f"{field}.smoke", _SMOKE
            ).items():
                smoke[key] = self.integer(value, f"{field}.smoke.{key}")
                if smoke[key] <= 0:
                    self.problem(value, f"{field}.smoke.{key}", "expected a whole number > 0")
        single_writer = (
            self.boolean(items["single_writer"][1], f"{field}.single_writer")
            if "single_writer" in items
            else False
        )
        return Row(
            experiment=stem,
            fault=fault,
            journal=journal,
            journal_reason=journal_reason,
            slos=tuple(slos),
            limits=limits,
            budget_slos=budget_slos,
            alerts=alerts,
            remediation=remediation,
            runbook=runbook,
            note=note,
            smoke=smoke,
            single_writer=single_writer,
            line=key_node.start_mark.line + 1,
        )

    def _limits(self, node: Node, field: str) -> Limits:
        items = self.mapping(node, field, _LIMITS)
        values: dict[str, float] = {}
        for key, (_k, value) in items.items():
            if key == "budget":
                values[key] = self._share(value, f"{field}.{key}")
            else:
                values[key] = self._positive(value, f"{field}.{key}", allow_zero=True)
        return Limits(**values)

    def _lists(self, node: Node, rows: Mapping[str, Row]) -> dict[str, tuple[str, ...]]:
        lists: dict[str, tuple[str, ...]] = {}
        for name, (_k, value) in self.keyed(node, "lists").items():
            stems = []
            for item in self.sequence(value, f"lists.{name}"):
                stem = self.string(item, f"lists.{name}")
                if stem not in self.row_names:
                    self.problem(item, f"lists.{name}", f"{stem!r} has no row")
                stems.append(stem)
            lists[name] = tuple(stems)
        for required in ("smoke", "all"):
            if required not in lists:
                self.problem(node, f"lists.{required}", "required list is missing")
        if "all" in lists and set(lists["all"]) != self.row_names:
            missing = sorted(self.row_names - set(lists["all"]))
            self.problem(node, "lists.all", f"must name every row; missing {missing}")
        return lists

    def _weights(self, node: Node, rows: Mapping[str, Row]) -> dict[str, float]:
        weights: dict[str, float] = {}
        for stem, (key_node, value) in self.keyed(node, "weights").items():
            if stem not in self.row_names:
                self.problem(key_node, f"weights.{stem}", "no row of that name")
            try:
                weights[stem] = self._positive(value, f"weights.{stem}")
            except Invalid:
                continue
        missing = sorted(self.row_names - set(weights))
        if missing:
            self.problem(node, "weights", f"every row needs a weight; missing {missing}")
        return weights
