"""The judge on fixed runs (``data/``: journals, timelines, request logs), every branch, and the
ones where it must fail: a recovery too slow, a budget over, a verdict outside its allowed set,
an integrity violation, a platform not ready, a harness error.

The fixed run: a replica killed 5.1 s after the experiment starts (``timeline_kill.jsonl``), the
watch ending at 45.3 s, ``InstanceDown`` received at 35.1 s; the request log (4 requests a
second, every fourth a checkout) fails from the injection for 3 s (``requests_recovers_in_3s``)
or 20 s (``requests_recovers_in_20s``), or is slow for 20 s (``requests_slow_during_fault``).
``timeline_duration.jsonl`` is a fault held from 5.1 s to 25.1 s, then a 40 s watch.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path

import pytest

from stormcheck.chaos.experiment import ExperimentRun
from stormcheck.chaos.journal import ExperimentOutcome, read_journal
from stormcheck.errors import ConfigError
from stormcheck.judge import (
    DetectionFloor,
    Expectations,
    FaultKind,
    Limits,
    ResilienceResult,
    Row,
    SloExpectation,
    judge_experiment,
    read_detection_floor,
    read_expectations,
    resilience_score,
)
from stormcheck.judge.timing import fault_windows
from stormcheck.local.stacks import STACK_COMPONENTS
from stormcheck.runs import RunFolder
from stormcheck.timeline import Timeline
from stormcheck.verdict import Outcome
from suites.resilience.judged import correct_orders

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"
EXPECTED = read_expectations()
FLOOR = read_detection_floor(STACK_COMPONENTS["full"])
P, F, INC = Outcome.PASS, Outcome.FAIL, Outcome.INCONCLUSIVE


def _row(**changes: object) -> Row:
    base = Row(
        experiment="replica_killed",
        fault=FaultKind.KILL,
        journal=frozenset({"held"}),
        slos=(
            SloExpectation(
                slo="client-availability",
                fault=frozenset({P, F}),
                recovery=frozenset({P}),
                reason="requests in flight fail",
            ),
        ),
        limits=Limits(detect_s=60, recover_s=10),
        alerts=("InstanceDown",),
        remediation="keep three replicas behind the ingress",
        runbook="docs/runbooks/InstanceDown.md",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _judge(
    tmp_path: Path,
    row: Row,
    *,
    journal: str = "journal_held.json",
    timeline: str = "timeline_kill.jsonl",
    requests: str | Path = "requests_recovers_in_3s.jsonl",
    orders: object = "correct",
    expectations: Expectations = EXPECTED,
    floor: DetectionFloor = FLOOR,
) -> ResilienceResult:
    folder = RunFolder(tmp_path / "20251203T120000Z-test").create()
    shutil.copy(DATA / timeline, folder.timeline_path)
    shutil.copy(DATA / requests, folder.requests_path)  # an absolute path stays as it is
    path = folder.journals_dir / f"20251203T120000Z-{row.experiment}.json"
    shutil.copy(DATA / journal, path)
    run = ExperimentRun(
        reading=read_journal(json.loads(path.read_text(encoding="utf-8"))),
        journal_path=path,
        diff=(),
        seconds=60.0,
    )
    lookup = correct_orders(DATA / requests) if orders == "correct" else orders
    return judge_experiment(
        folder,
        run,
        row,
        expectations=expectations,
        prometheus=None,
        orders=lookup,  # type: ignore[arg-type]
        floor=floor,
    )


def _outcomes(result: ResilienceResult) -> dict[str, str]:
    return {c.verdict.name.split("/", 2)[2]: c.verdict.outcome.value for c in result.checks}


def test_a_kill_that_recovers_in_time_is_met_with_every_figure(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row())
    assert result.met, result.explain()
    assert result.outcome is ExperimentOutcome.HELD
    assert _outcomes(result) == {
        "journal": "pass",
        "client-availability@fault": "fail",  # allowed: requests in flight fail
        "client-availability@recovery": "pass",
        "detect": "pass",
        "recover": "pass",
        "integrity": "pass",
    }
    assert result.detect_s == 30.0  # InstanceDown received 30 s after the injection
    assert result.detect_floor_s == 25.0  # scrape 5 + evaluation 5 + for 10 + group_wait 5
    assert result.recover_s == 3.0 and result.recovery is not None
    assert result.recovery.precision_s == 1.0
    assert result.unknown_keys == 1  # k0018's last retry was still ambiguous
    fault, recovery = result.fault_window, result.recovery_window
    assert fault is not None and recovery is not None
    # kill: [injection, + max(recover_s, three scrape intervals)); the watch ends at 45.3 s
    assert (fault.seconds, recovery.seconds) == (15.0, 25.2)
    spent = result.budget_spent["client-availability"]
    assert spent["fault"] is not None and spent["fault"] > 0 and spent["recovery"] == 0


def test_the_result_file_and_verdicts_json_have_the_contract_shape(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row())
    folder = RunFolder(tmp_path / "20251203T120000Z-test")
    written = json.loads((folder.root / "resilience" / "replica_killed.json").read_text())
    assert written == json.loads(json.dumps(result.to_dict()))
    assert written["format"] == 1 and written["experiment"] == "replica_killed"
    assert written["journal"] == "journals/20251203T120000Z-replica_killed.json"
    assert written["fault_window"] == {
        "start": "2025-12-03T12:00:05.100Z",
        "end": "2025-12-03T12:00:20.100Z",
    }
    assert written["alerts"] == [
        {"name": "InstanceDown", "received_at": "2025-12-03T12:00:35.100Z"},
        {"name": "InstanceDown", "received_at": "2025-12-03T12:00:50.000Z"},
    ]
    for key in ("expected", "met", "recover_precision_s", "budget_spent", "unknown_keys"):
        assert key in written
    # a kill fault's time to recover counts from the injection, the fault window's start
    assert written["recover_from"] == written["fault_window"]["start"]
    # the judged request log is kept beside the result, as the run wrote it
    assert written["request_log"] == "resilience/replica_killed.requests.jsonl.gz"
    kept = gzip.decompress((folder.root / written["request_log"]).read_bytes())
    assert kept == folder.requests_path.read_bytes() and kept.count(b"\n") > 100
    assert written["remediation"] and written["runbook"] == "docs/runbooks/InstanceDown.md"
    names = [v.name for v in folder.read_verdicts()]
    assert names == [c.verdict.name for c in result.checks]
    assert all(n.startswith("resilience/replica_killed/") for n in names)


def test_a_recovery_slower_than_the_limit_fails(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(limits=Limits(recover_s=2)))
    assert not result.met
    assert _outcomes(result)["recover"] == "fail"
    assert "3.0 s > 2 s" in result.explain()


def test_a_platform_that_never_recovers_within_the_watch_fails(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(), requests="requests_recovers_in_20s.jsonl")
    assert result.recover_s is None and not result.met
    assert _outcomes(result)["recover"] == "fail"
    assert "not within the watch" in result.explain()


def test_slow_answers_are_not_a_recovery(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(), requests="requests_slow_during_fault.jsonl")
    # every request succeeded, but p95 above the rule's limit until 25.1 s
    assert _outcomes(result)["client-availability@fault"] == "pass"
    assert _outcomes(result)["recover"] == "fail"


def test_a_budget_over_its_limit_fails(tmp_path: Path) -> None:
    row = _row(limits=Limits(recover_s=10, budget=0.0001), budget_slos=("client-availability",))
    result = _judge(tmp_path, row)
    assert _outcomes(result)["budget"] == "fail" and not result.met
    generous = _row(limits=Limits(recover_s=10, budget=0.5), budget_slos=("client-availability",))
    assert _outcomes(_judge(tmp_path, generous))["budget"] == "pass"


def test_a_verdict_outside_its_allowed_set_fails(tmp_path: Path) -> None:
    strict = SloExpectation(
        slo="client-availability", fault=frozenset({P}), recovery=frozenset({P})
    )
    result = _judge(tmp_path, _row(slos=(strict,)))
    assert not result.met
    assert [c.verdict.name for c in result.missed()] == [
        "resilience/replica_killed/client-availability@fault"
    ]
    assert "MISS resilience/replica_killed/client-availability@fault: fail (allowed pass)" in (
        result.explain()
    )


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"k0020": [1020, 9020]}, "1 keys with several orders"),
        ({"k0021": []}, "1 definitive successes without exactly one order"),
        ({"k0022": [4242]}, "1 successes whose order is not the one the API returned"),
        ({"k0018": [1018]}, "1 unknown"),  # an unknown key may have its order: no violation
    ],
)
def test_an_integrity_violation_fails(
    tmp_path: Path, extra: dict[str, list[int]], problem: str
) -> None:
    result = _judge(
        tmp_path, _row(), orders=correct_orders(DATA / "requests_recovers_in_3s.jsonl", extra=extra)
    )
    integrity = next(c for c in result.checks if c.verdict.name.endswith("/integrity"))
    assert problem in integrity.verdict.reason
    assert integrity.met is (problem == "1 unknown")


def test_no_database_makes_integrity_inconclusive_and_the_row_unmet(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(), orders=None)
    assert _outcomes(result)["integrity"] == "inconclusive" and not result.met


def test_a_platform_not_ready_is_inconclusive_and_judged_no_further(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(), journal="journal_not_ready.json")
    assert result.outcome is ExperimentOutcome.INCONCLUSIVE and not result.met
    assert _outcomes(result) == {"journal": "inconclusive"}
    assert "platform not ready" in result.explain()


def test_a_failed_action_is_a_harness_error(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(), journal="journal_action_failed.json")
    assert result.outcome is ExperimentOutcome.ERROR and not result.met
    assert _outcomes(result) == {"journal": "fail"}
    assert "harness error: action 'kill-one-api-replica' failed" in result.explain()


def test_a_deviated_journal_is_met_only_where_the_row_allows_it(tmp_path: Path) -> None:
    assert _outcomes(_judge(tmp_path, _row(), journal="journal_deviated.json"))["journal"] == "fail"
    allowed = _row(journal=frozenset({"held", "deviated"}), journal_reason="the window lags")
    assert _outcomes(_judge(tmp_path, allowed, journal="journal_deviated.json"))["journal"] == (
        "pass"
    )


def test_detection_missing_or_late_fails(tmp_path: Path) -> None:
    late = _judge(tmp_path, _row(limits=Limits(detect_s=20, recover_s=10)))
    assert _outcomes(late)["detect"] == "fail" and "30.0 s > 20 s; floor 25 s" in late.explain()
    missing = _judge(tmp_path, _row(alerts=("PostgresPrimaryChanged",)))
    assert missing.detect_s is None and _outcomes(missing)["detect"] == "fail"
    reported = _judge(tmp_path, _row(limits=Limits(recover_s=10)))
    assert "detect" not in _outcomes(reported) and reported.detect_s == 30.0


def test_metric_slos_without_prometheus_are_inconclusive_and_the_client_verdict_stays(
    tmp_path: Path,
) -> None:
    slos = (
        SloExpectation(
            slo="checkout-availability",
            fault=frozenset({INC}),
            recovery=frozenset({INC}),
        ),
        SloExpectation(
            slo="client-availability", fault=frozenset({P, F}), recovery=frozenset({P}), reason="x"
        ),
    )
    result = _judge(tmp_path, _row(slos=slos))
    outcomes = _outcomes(result)
    assert outcomes["checkout-availability@fault"] == "inconclusive"
    assert outcomes["client-availability@recovery"] == "pass"
    assert result.met
    expecting_pass = (dataclasses.replace(slos[0], fault=frozenset({P})), slos[1])
    assert not _judge(tmp_path, _row(slos=expecting_pass)).met


def test_a_duration_fault_recovers_from_its_revert(tmp_path: Path) -> None:
    row = _row(
        experiment="postgres_latency",
        fault=FaultKind.DURATION,
        limits=Limits(recover_s=10),
        alerts=("ShopLatencyHigh",),
    )
    result = _judge(
        tmp_path,
        row,
        journal="journal_duration.json",
        timeline="timeline_duration.jsonl",
        requests="requests_slow_during_fault.jsonl",
    )
    assert result.met, result.explain()
    fault, recovery = result.fault_window, result.recovery_window
    assert fault is not None and recovery is not None
    # [injection, revert + recover_s), [revert + recover_s, watch): 20 s held, 10 s allowed
    assert (fault.seconds, recovery.seconds) == (30.0, 30.1)
    assert result.recover_s == 0.0  # answers were fast again from the revert on
    assert result.detect_s == 28.0  # ShopLatencyHigh, counted from the injection


def test_failures_while_a_duration_fault_recovers_within_its_limit_are_the_limits_to_judge(
    tmp_path: Path,
) -> None:
    """The requests answered badly just after a revert fall in the fault window: the recovery
    limit judges them (recovered in 2 s, within 10 s), and the recovery window is what users get
    once the platform should have recovered, so it passes."""
    revert_ms = 1764763225100
    lines = (DATA / "requests_slow_during_fault.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    failed = 0
    for record in records:
        if revert_ms <= record["sent_ms"] < revert_ms + 2000:
            record.update(ok=False, status=503, response_ms=3, end_ms=record["sent_ms"] + 3)
            failed += 1
    assert failed >= 4
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    row = _row(
        experiment="postgres_latency",
        fault=FaultKind.DURATION,
        slos=(
            SloExpectation(
                slo="client-availability",
                fault=frozenset({P, F}),
                recovery=frozenset({P}),
                reason="requests fail during the fault",
            ),
        ),
        limits=Limits(recover_s=10),
        alerts=("ShopLatencyHigh",),
    )
    result = _judge(
        tmp_path,
        row,
        journal="journal_duration.json",
        timeline="timeline_duration.jsonl",
        requests=requests,
    )
    assert result.met, result.explain()
    assert result.recover_s == 2.0
    assert _outcomes(result)["client-availability@recovery"] == "pass"
    spent = result.budget_spent["client-availability"]
    assert spent["fault"] is not None and spent["fault"] > 0 and spent["recovery"] == 0
    # a recovery past the limit is still the limit's failure, and then the window's too
    late = dataclasses.replace(row, limits=Limits(recover_s=1))
    result = _judge(
        tmp_path / "late",
        late,
        journal="journal_duration.json",
        timeline="timeline_duration.jsonl",
        requests=requests,
    )
    outcomes = _outcomes(result)
    assert not result.met
    assert (outcomes["recover"], outcomes["client-availability@recovery"]) == ("fail", "fail")


def test_an_slo_the_row_names_but_nobody_defines_is_a_located_error(tmp_path: Path) -> None:
    row = _row(
        slos=(SloExpectation(slo="checkout-speed", fault=frozenset({P}), recovery=frozenset({P})),)
    )
    with pytest.raises(ConfigError, match=r"expected.yaml: rows.replica_killed.slos: no SLO"):
        _judge(tmp_path, row)


def test_the_resilience_score_weighs_met_rows_and_lists_the_failing_rows_hints(
    tmp_path: Path,
) -> None:
    met = _judge(tmp_path / "a", _row())
    slow = _judge(  # a 2 s fault window: a scrape interval short enough not to widen it
        tmp_path / "b",
        _row(experiment="zone_b_lost", limits=Limits(recover_s=2)),
        floor=dataclasses.replace(FLOOR, scrape_s=0.5),
    )
    lost = _judge(
        tmp_path / "c",
        _row(experiment="postgres_primary_killed", remediation="tune Patroni"),
        journal="journal_action_failed.json",
    )
    weights = {"replica_killed": 2.0, "zone_b_lost": 3.0, "postgres_primary_killed": 5.0}
    score = resilience_score([met, slow, lost], weights)
    assert score.value == 20.0  # 2 of 10
    assert (score.earned, score.total) == (2.0, 10.0)
    assert [r.experiment for r in score.remediations] == ["postgres_primary_killed", "zone_b_lost"]
    assert score.remediations[0].hint == "tune Patroni"
    assert score.remediations[1].missed == (  # 2 s after the kill, users still saw failures
        "resilience/zone_b_lost/client-availability@recovery",
        "resilience/zone_b_lost/recover",
    )
    assert "resilience score 20.0/100" in score.explain()
    assert resilience_score([met], weights).value == 100.0
    with pytest.raises(ConfigError, match="no weight for replica_killed"):
        resilience_score([met], {})
    with pytest.raises(ConfigError, match="no judged experiment"):
        resilience_score([], weights)


def test_a_short_kill_window_still_spans_three_scrapes(tmp_path: Path) -> None:
    """A 7 s recovery limit would give Prometheus one sample of a 5 s scrape: the window is 15 s."""
    result = _judge(tmp_path, _row(limits=Limits(recover_s=7)))
    assert result.fault_window is not None
    assert result.fault_window.seconds == 3 * FLOOR.scrape_s
    coarse = dataclasses.replace(FLOOR, scrape_s=1.0)
    again = _judge(tmp_path / "again", _row(limits=Limits(recover_s=7)), floor=coarse)
    assert again.fault_window is not None and again.fault_window.seconds == 7.0


def _action_span_timeline(path: Path, *, ended_ms: int | None) -> None:
    """A burst outside the fault ledger: action 5.0-7.5 s, then its 35 s pause, then a probe."""
    t0 = 1764763200000
    rows = [
        (t0, "experiment_start", "title", {}),
        (t0 + 5000, "activity_start", "kill-one-api-replica", {"type": "action"}),
        (
            t0 + 42_500,  # chaoslib reports the end after the pause
            "activity_end",
            "kill-one-api-replica",
            {"type": "action", "status": "succeeded"}
            | ({} if ended_ms is None else {"ended_ms": t0 + ended_ms}),
        ),
        (t0 + 42_600, "activity_start", "ingress-answers", {"type": "probe"}),
    ]
    path.write_text(
        "".join(
            json.dumps({"at_ms": at, "kind": kind, "name": name, "attrs": attrs}) + "\n"
            for at, kind, name, attrs in rows
        ),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("ended_ms", "min_s", "fault_s"), [(7500, 0, 7.5), (7500, 15, 15.0), (None, 15, 37.6)]
)
def test_an_action_outside_the_ledger_ends_before_its_pause(
    tmp_path: Path, ended_ms: int | None, min_s: int, fault_s: float
) -> None:
    """The recovery window of a burst is the pause after it (less the 5 s the row allows to
    recover), not the 3 ms before the next probe; its fault window spans three scrapes, and
    recovery is still measured from its end. Without the end chaoslib noted, the burst lasts the
    whole watch and leaves no recovery window."""
    _action_span_timeline(tmp_path / "timeline.jsonl", ended_ms=ended_ms)
    row = _row(fault=FaultKind.DURATION, limits=Limits(recover_s=5))
    journal = json.loads((DATA / "journal_held.json").read_text(encoding="utf-8"))
    events = Timeline(tmp_path / "timeline.jsonl").events()
    windows = fault_windows(journal, events, row, min_fault_ms=min_s * 1000)
    assert not isinstance(windows, str), windows
    assert windows.fault.seconds == fault_s
    if ended_ms is None:
        assert windows.recovery is None
    else:
        assert windows.recovery is not None
        assert windows.recovery.seconds == pytest.approx(42.6 - 5.0 - fault_s)
    assert windows.recover_from_ms == windows.injection_ms + (
        2500 if ended_ms is not None else 37_500
    )
