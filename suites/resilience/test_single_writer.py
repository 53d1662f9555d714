"""The single-writer check ("never two writable members") on fixed journals, and its row flag.

The fixed run is the judge's (``data/``: a kill 5.1 s into the experiment, a request log that
recovers in 3 s, a correct database); the journal gets the background sampler's output in its
``run`` list, as chaoslib records it. The check must fail on a single round with two writable
members, be inconclusive when no round had two answers or when the sampler left no output, and
pass only on rounds that each had two answers and at most one writer. The sampler is found by
its provider function, not by the name an experiment gives it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from stormcheck.chaos import safeguards
from stormcheck.chaos.experiment import ExperimentRun, interrupted, signal_guard
from stormcheck.chaos.experiment_file import read_experiment
from stormcheck.chaos.journal import read_journal
from stormcheck.chaos.local.probes import postgres_writers
from stormcheck.errors import ConfigError
from stormcheck.judge import (
    FaultKind,
    Limits,
    ResilienceResult,
    Row,
    SloExpectation,
    judge_experiment,
    read_detection_floor,
    read_expectations,
)
from stormcheck.local.stacks import STACK_COMPONENTS
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder
from stormcheck.verdict import Outcome
from suites.resilience.judged import MINIMAL_ROWS, correct_orders

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"
CATALOGUE = project_root() / "experiments" / "local"
EXPECTED = read_expectations()
FLOOR = read_detection_floor(STACK_COMPONENTS["full"])
P = Outcome.PASS
INJECTION_MS = 1764763205100  # timeline_kill.jsonl's fault_start
W = None  # a member that did not answer


def _row(*, single_writer: bool = True) -> Row:
    return Row(
        experiment="postgres_primary_cut_off",
        fault=FaultKind.KILL,
        journal=frozenset({"held"}),
        slos=(SloExpectation(slo="client-availability", fault=frozenset({P, Outcome.FAIL}),
                             recovery=frozenset({P}), reason="orders fail until the promotion"),),
        limits=Limits(recover_s=10),
        alerts=("PostgresPrimaryChanged",),
        remediation="demote within the TTL",
        runbook="docs/runbooks/PostgresPrimaryChanged.md",
        single_writer=single_writer,
    )  # fmt: skip


def _sampler(
    rounds: Sequence[Mapping[str, bool | None]], *, name: str = "sample-the-writable-members"
) -> dict[str, Any]:
    """A journal ``run[]`` entry of the sampler: one round a second from the injection on."""
    samples: list[dict[str, Any]] = []
    for index, answers in enumerate(rounds):
        sample: dict[str, Any] = {"at_ms": INJECTION_MS + 1000 * index, "writable": dict(answers)}
        errors = {m: "psql exited 2" for m, w in answers.items() if w is None}
        if errors:
            sample["errors"] = errors
        samples.append(sample)
    return {
        "activity": {
            "type": "probe",
            "name": name,
            "background": True,
            "provider": {
                "type": "python",
                "module": postgres_writers.__module__,
                "func": postgres_writers.__name__,
                "arguments": {"span_s": len(rounds)},
            },
        },
        "status": "succeeded",
        "output": {"members": ["pg-1", "pg-2"], "interval_s": 1.0, "rounds": samples},
        "start": "2025-12-03T12:00:05+00:00",
        "end": "2025-12-03T12:00:45+00:00",
        "duration": 40.0,
    }


def _judge(tmp_path: Path, row: Row, sampler: dict[str, Any] | None) -> ResilienceResult:
    folder = RunFolder(tmp_path / "20251203T120000Z-test").create()
    shutil.copy(DATA / "timeline_kill.jsonl", folder.timeline_path)
    shutil.copy(DATA / "requests_recovers_in_3s.jsonl", folder.requests_path)
    journal = json.loads((DATA / "journal_held.json").read_text(encoding="utf-8"))
    if sampler is not None:
        journal["run"].insert(0, sampler)
    path = folder.journals_dir / f"20251203T120000Z-{row.experiment}.json"
    path.write_text(json.dumps(journal), encoding="utf-8")
    run = ExperimentRun(reading=read_journal(journal), journal_path=path, diff=(), seconds=60.0)
    return judge_experiment(
        folder,
        run,
        row,
        expectations=EXPECTED,
        orders=correct_orders(DATA / "requests_recovers_in_3s.jsonl"),
        floor=FLOOR,
        write=False,
    )


def _writers(result: ResilienceResult) -> tuple[Outcome, str, dict[str, Any]]:
    (check,) = [c for c in result.checks if c.verdict.name.endswith("/single-writer")]
    assert check.allowed == frozenset({P})
    details = dict(check.verdict.evidence[0].details) if check.verdict.evidence else {}
    return check.verdict.outcome, check.verdict.reason, details


NORMAL = [{"pg-1": True, "pg-2": False}] * 5 + [{"pg-1": W, "pg-2": False}] * 4
NORMAL += [{"pg-1": False, "pg-2": True}] * 6


def test_rounds_with_one_writer_each_pass_with_the_count_of_rounds_and_members(
    tmp_path: Path,
) -> None:
    result = _judge(tmp_path, _row(), _sampler(NORMAL))
    outcome, reason, details = _writers(result)
    assert outcome is P, reason
    assert result.met, result.explain()
    assert reason == (
        "11 rounds, 2 members each, at most one writable (4 more rounds with fewer than two"
        " answers)"
    )
    assert details["rounds"] == 15 and details["rounds_with_two_answers"] == 11
    assert details["unanswered"] == {"pg-1": 4} and details["two_writers"] == []


def test_two_writable_members_in_one_round_fail_naming_the_round_and_members(
    tmp_path: Path,
) -> None:
    rounds = [*NORMAL[:7], {"pg-1": True, "pg-2": True}, *NORMAL[7:]]
    result = _judge(tmp_path, _row(), _sampler(rounds))
    outcome, reason, details = _writers(result)
    assert outcome is Outcome.FAIL, reason
    assert reason == ("two writable members in 1 of 16 rounds: 2025-12-03T12:00:12.100Z pg-1, pg-2")
    assert details["two_writers"] == [
        {"at": "2025-12-03T12:00:12.100Z", "members": ["pg-1", "pg-2"]}
    ]
    assert not result.met
    assert "MISS resilience/postgres_primary_cut_off/single-writer: fail" in result.explain()


def test_no_round_with_two_answers_is_inconclusive_never_a_pass(tmp_path: Path) -> None:
    for rounds in (
        [{"pg-1": W, "pg-2": W}] * 5,  # nobody answered
        [{"pg-1": True, "pg-2": W}] * 3 + [{"pg-1": W, "pg-2": True}] * 3,  # one at a time
    ):
        result = _judge(tmp_path / str(len(rounds)), _row(), _sampler(rounds))
        outcome, reason, _ = _writers(result)
        assert outcome is Outcome.INCONCLUSIVE, reason
        assert reason.startswith(
            f"not measured: none of {len(rounds)} rounds had answers from two or more of 2 members"
        )
        assert not result.met


def test_a_flagged_row_whose_journal_has_no_sampler_output_is_inconclusive(
    tmp_path: Path,
) -> None:
    result = _judge(tmp_path, _row(), None)
    outcome, reason, _ = _writers(result)
    assert outcome is Outcome.INCONCLUSIVE
    assert reason == (
        "not measured: the journal holds no output of the sampler"
        " stormcheck.chaos.local.probes.postgres_writers"
    )
    assert not result.met


def test_the_sampler_is_found_by_its_function_whatever_the_experiment_names_it(
    tmp_path: Path,
) -> None:
    renamed = _sampler([{"pg-1": True, "pg-2": True}], name="who-writes")
    outcome, _, _ = _writers(_judge(tmp_path, _row(), renamed))
    assert outcome is Outcome.FAIL


def test_a_row_without_the_flag_gets_no_single_writer_check(tmp_path: Path) -> None:
    result = _judge(tmp_path, _row(single_writer=False), _sampler([{"pg-1": True, "pg-2": True}]))
    assert not [c for c in result.checks if c.verdict.name.endswith("/single-writer")]
    assert result.met, result.explain()


def test_the_cut_off_row_is_flagged_and_its_experiment_samples_through_the_whole_watch() -> None:
    flagged = {stem for stem, row in EXPECTED.rows.items() if row.single_writer}
    assert flagged == {"postgres_primary_cut_off"}
    assert EXPECTED.row("postgres_primary_cut_off").to_dict()["single_writer"] is True
    for stem in flagged:
        document = read_experiment(CATALOGUE / f"{stem}.yaml").document
        samplers = [
            a
            for a in document["method"]
            if (a["provider"]["module"], a["provider"]["func"])
            == (postgres_writers.__module__, postgres_writers.__name__)
        ]
        assert len(samplers) == 1 and samplers[0].get("background") is True, samplers
        # the sampler spans the action's own watch (the same configuration value)
        watches = {a["pauses"]["after"] for a in document["method"] if a["type"] == "action"}
        assert {samplers[0]["provider"]["arguments"]["span_s"]} == watches


_ROWS = MINIMAL_ROWS + "    single_writer: FLAG\n"


@pytest.mark.parametrize(("flag", "expected"), [("true", True), ("false", False)])
def test_the_flag_is_read_as_a_boolean(tmp_path: Path, flag: str, expected: bool) -> None:
    path = tmp_path / "expected.yaml"
    path.write_text(_ROWS.replace("FLAG", flag), encoding="utf-8")
    assert read_expectations(path).row("a").single_writer is expected
    path.write_text(_ROWS.replace("    single_writer: FLAG\n", ""), encoding="utf-8")
    assert read_expectations(path).row("a").single_writer is False


@pytest.mark.parametrize("flag", ["yes please", "1", "[true]"])
def test_a_flag_of_the_wrong_type_is_named_by_file_line_and_field(
    tmp_path: Path, flag: str
) -> None:
    path = tmp_path / "expected.yaml"
    path.write_text(_ROWS.replace("FLAG", flag), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_expectations(path)
    message = str(caught.value)
    assert f"{path}:14: rows.a.single_writer: expected true or false, got " in message, message
    assert "Traceback" not in message


def test_the_row_keeps_the_flag_in_its_json_form() -> None:
    assert dataclasses.replace(_row(), single_writer=False).to_dict()["single_writer"] is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"span_s": 0}, r"^span_s: expected a number of seconds > 0, got 0$"),
        ({"span_s": "75"}, r"^span_s: expected a number of seconds > 0, got '75'$"),
        ({"span_s": 5, "interval_s": True}, r"^interval_s: expected a number of seconds > 0"),
        ({"span_s": 5, "timeout_s": -1}, r"^timeout_s: expected a number of seconds > 0, got -1$"),
    ],
)
def test_the_sampler_refuses_bad_arguments_in_one_line_before_looking_for_a_run(
    arguments: dict[str, Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))  # no run there
    with pytest.raises(ConfigError, match=message) as refused:
        postgres_writers(**arguments)
    assert "\n" not in str(refused.value)


def test_an_interrupted_experiment_is_seen_by_background_activities() -> None:
    safeguards.reset()
    assert interrupted() is None  # no experiment in force, no stop condition tripped
    with signal_guard() as guard:
        assert interrupted() is None
        guard.received.append(signal.SIGINT)  # what the guard's handler records first
        assert interrupted() == "SIGINT received"
    with signal_guard() as guard:
        guard.received.append(signal.SIGUSR1)  # chaoslib's "exit gracefully": a stop condition
        assert interrupted() == "SIGUSR1 received"
    assert interrupted() is None
