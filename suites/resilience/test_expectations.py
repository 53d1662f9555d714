"""The expected outcomes (``experiments/local/expected.yaml``) against the files they describe.

- one row per experiment file, every SLO a defined one (or the request log's), every alert a
  detection rule, every runbook a file that one of the row's alerts links;
- each experiment's recovery watch covers its row — at least the detection limit (counted from
  the injection) and the recovery limit plus the 30 s hold (counted from the injection for a kill
  fault, from the revert for a duration fault) — with its default configuration and with the
  smoke catalogue's;
- the row's fault kind matches the experiment (a duration fault has ``fault_duration_s``);
- a bad file gets one located line per problem (``file:line: field: message``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stormcheck.chaos.experiment_file import experiment_files, read_experiment
from stormcheck.errors import ConfigError
from stormcheck.judge import CLIENT_SLO, FaultKind, Row, read_expectations
from stormcheck.observability.rules import read_rules, rule_files
from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slos, slo_files
from suites.resilience.judged import MINIMAL_ROWS

CATALOGUE = project_root() / "experiments" / "local"
FILES = experiment_files(CATALOGUE)
EXPECTED = read_expectations()


def _defaults(path: Path) -> dict[str, int]:
    configuration: dict[str, Any] = read_experiment(path).document.get("configuration") or {}
    return {
        key: int(value["default"])
        for key, value in configuration.items()
        if key in ("recovery_watch_s", "fault_duration_s") and isinstance(value, dict)
    }


def _watch_problems(row: Row, config: dict[str, int], hold_s: float) -> list[str]:
    watch = config.get("recovery_watch_s")
    if watch is None:
        return ["no recovery_watch_s in the experiment's configuration"]
    problems = []
    limits = row.limits
    if limits.recover_s is not None and watch < limits.recover_s + hold_s:
        problems.append(
            f"recovery_watch_s {watch} < recover_s {limits.recover_s:g} + hold {hold_s:g}"
        )
    from_injection = watch + (
        config.get("fault_duration_s", 0) if row.fault is FaultKind.DURATION else 0
    )
    if limits.detect_s is not None and from_injection < limits.detect_s:
        problems.append(
            f"the watch ends {from_injection} s after injection < detect_s {limits.detect_s:g}"
        )
    return problems


@pytest.mark.static
def test_every_experiment_has_exactly_one_row_and_the_named_lists_name_rows() -> None:
    assert sorted(EXPECTED.rows) == sorted(p.stem for p in FILES)
    assert len(FILES) == 17
    assert EXPECTED.lists["smoke"] == (
        "replica_killed",
        "postgres_primary_killed",
        "postgres_latency",
        "prometheus_down",
    )
    assert sorted(EXPECTED.lists["all"]) == sorted(EXPECTED.rows)
    assert set(EXPECTED.weights) == set(EXPECTED.rows)


@pytest.mark.static
def test_rows_name_defined_slos_alerts_and_existing_runbooks() -> None:
    slos = {s.name for s in read_slos(slo_files([project_root() / "platform" / "slo"]))}
    alerts = {a.name: a for a in read_rules(rule_files()).alerts}
    problems = []
    for row in EXPECTED.rows.values():
        for expectation in row.slos:
            if expectation.slo not in slos | {CLIENT_SLO}:
                problems.append(f"{row.experiment}: SLO {expectation.slo!r} is not defined")
        unknown = [a for a in row.alerts if a not in alerts]
        if unknown:
            problems.append(f"{row.experiment}: alerts {unknown} are not detection rules")
        if not (project_root() / row.runbook).is_file():
            problems.append(f"{row.experiment}: runbook {row.runbook} does not exist")
        links = {str(alerts[a].annotations.get("runbook_url")) for a in row.alerts if a in alerts}
        if links and row.runbook not in links:
            problems.append(
                f"{row.experiment}: runbook {row.runbook} is none of its alerts' {links}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.static
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_recovery_watch_covers_the_row_by_default_and_in_the_smoke_run(path: Path) -> None:
    row = EXPECTED.row(path.stem)
    defaults = _defaults(path)
    assert ("fault_duration_s" in defaults) == (row.fault is FaultKind.DURATION), (
        f"{path.name}: a {row.fault.value} row, but fault_duration_s is"
        f" {'present' if 'fault_duration_s' in defaults else 'absent'}"
    )
    hold = EXPECTED.recovery.hold_s
    problems = _watch_problems(row, defaults, hold)
    smoke = {**defaults, **row.smoke}
    problems += [f"smoke: {p}" for p in _watch_problems(row, smoke, hold)]
    assert not problems, f"{path.name}: " + "; ".join(problems)


BROKEN = {
    "an unknown outcome": (
        MINIMAL_ROWS.replace("{fault: [pass], recovery", "{fault: [passed], recovery"),
        ":9: rows.a.slos.checkout-availability.fault: expected one of pass, fail,"
        " inconclusive, got 'passed'",
    ),
    "a set without its reason": (
        MINIMAL_ROWS.replace("{fault: [pass], recovery", "{fault: [pass, fail], recovery"),
        ":9: rows.a.slos.checkout-availability.reason: a set of more than one outcome needs"
        " its reason",
    ),
    "an unknown field": (
        MINIMAL_ROWS.replace("    alerts:", "    alarms: [x]\n    alerts:"),
        ":11: rows.a.alarms: unknown field; expected one of",
    ),
    "a fault kind": (
        MINIMAL_ROWS.replace("fault: kill", "fault: sometimes"),
        ":6: rows.a.fault: expected kill or duration, got 'sometimes'",
    ),
    "a budget over 1": (
        MINIMAL_ROWS.replace("{recover_s: 10}", "{recover_s: 10, budget: 5}"),
        ":10: rows.a.limits.budget: expected a share in (0, 1), got 5",
    ),
    "a negative limit": (
        MINIMAL_ROWS.replace("{recover_s: 10}", "{recover_s: -1}"),
        ":10: rows.a.limits.recover_s: expected a number >= 0",
    ),
    "a list naming no row": (
        MINIMAL_ROWS.replace("smoke: [a]", "smoke: [a, b]"),
        ":2: lists.smoke: 'b' has no row",
    ),
    "a row without weight": (
        MINIMAL_ROWS.replace("weights: {a: 1}", "weights: {}"),
        ":3: weights: every row needs a weight; missing ['a']",
    ),
    "a missing runbook": (
        MINIMAL_ROWS.replace("    runbook: docs/runbooks/InstanceDown.md\n", ""),
        ":6: rows.a.runbook: required field is missing",
    ),
    "not YAML": ("rows: [a\n", ":2: not valid YAML"),
}


@pytest.mark.unit
def test_a_good_file_is_read_into_typed_rows(tmp_path: Path) -> None:
    path = tmp_path / "expected.yaml"
    path.write_text(MINIMAL_ROWS, encoding="utf-8")
    expected = read_expectations(path)
    row = expected.row("a")
    assert row.fault is FaultKind.KILL and row.limits.recover_s == 10
    assert [r.experiment for r in expected.named("smoke")] == ["a"]
    with pytest.raises(ConfigError, match=r"expected.yaml: rows: no row for experiment 'b'"):
        expected.row("b")


@pytest.mark.unit
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_is_named_by_line_field_and_what_was_expected(
    tmp_path: Path, case: str
) -> None:
    text, message = BROKEN[case]
    path = tmp_path / "expected.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_expectations(path)
    assert f"{path}{message}" in str(caught.value), str(caught.value)
    assert "Traceback" not in str(caught.value)
