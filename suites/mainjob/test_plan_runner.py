"""The plan runner's pieces that need no platform: exit codes, what a person sees, the step table."""

from __future__ import annotations

import io
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.jobs.outcome import Judged, exit_code
from stormcheck.jobs.progress import LineDisplay, LiveDisplay, choose_display
from stormcheck.jobs.runner import JobResult, StepReport
from stormcheck.jobs.steps import STEPS
from stormcheck.jobs.summary import render_summary, summary_lines
from stormcheck.paths import project_root
from stormcheck.plans import PLANS_FOLDER, STEP_KINDS, plan_files, read_plan
from stormcheck.runs import RunFolder
from stormcheck.verdict import Evidence, Outcome, Verdict

pytestmark = pytest.mark.unit

PASS, FAIL, INCONCLUSIVE = Outcome.PASS, Outcome.FAIL, Outcome.INCONCLUSIVE


def _line(outcome: Outcome, allowed: set[Outcome] | None = None, name: str = "x") -> Judged:
    verdict = Verdict(name=name, outcome=outcome, reason="because")
    return Judged(
        step="catalogue",
        verdict=verdict,
        judged="experiment postgres_latency",
        allowed=frozenset(allowed or {PASS}),
    )


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([_line(PASS)], 0),
        ([_line(FAIL, {FAIL})], 0),  # an expected fail (+300 ms to PostgreSQL) is met
        ([_line(INCONCLUSIVE, {PASS, INCONCLUSIVE})], 0),
        ([_line(PASS), _line(FAIL)], 1),
        ([_line(PASS, {FAIL})], 1),  # expected to fail and did not: not met
        ([_line(INCONCLUSIVE)], 2),
        ([_line(INCONCLUSIVE), _line(FAIL)], 1),  # a definitive miss outweighs the unmeasured
        ([], 2),  # nothing measured never passes
    ],
)
def test_exit_code_says_whether_the_platform_behaved_as_expected(
    lines: list[Judged], code: int
) -> None:
    assert exit_code(lines) == code


def test_every_line_names_what_it_judged_beside_the_raw_verdict_and_expectation() -> None:
    line = _line(FAIL, {FAIL}, name="postgres_latency/slo/checkout-latency/fault").line()
    assert line == (
        "met  catalogue: postgres_latency/slo/checkout-latency/fault"
        " (experiment postgres_latency): fail (expected fail) - because"
    )


def test_judged_takes_the_budget_spent_from_its_evidence() -> None:
    verdict = Verdict.passed(
        "shop-availability", "ok", Evidence(description="ratio", budget_spent=0.0123)
    )
    assert Judged.of("gate", verdict, "SLO over 60 s").budget_spent == pytest.approx(0.0123)


def test_every_step_kind_of_the_plan_format_has_a_step_function() -> None:
    assert set(STEPS) == set(STEP_KINDS)


def test_the_shipped_plans_read() -> None:
    names = {read_plan(p).name for p in plan_files(project_root() / PLANS_FOLDER)}
    assert {"quick", "nightly", "release-gate"} <= names


def test_lines_off_a_terminal_are_timestamped() -> None:
    out = io.StringIO()
    display = choose_display(out, plan="quick")
    assert isinstance(display, LineDisplay)
    display.step(2, 7, "smoke", 60)
    display.fault_window("replica_killed", 1_795_687_200_000, None)
    display.line("two\nlines")
    written = out.getvalue().splitlines()
    assert len(written) == 4
    assert all(line[:20].endswith("Z") and line[4] == "-" for line in written)
    assert written[0].endswith("[quick step 2/7] smoke (budget 60 s, elapsed 0 s)")
    assert written[1].endswith("fault window of replica_killed: 10:00:00 - ...")


def test_a_terminal_gets_the_live_display() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    display = choose_display(out, plan="quick")
    assert isinstance(display, LiveDisplay)
    display.step(4, 7, "catalogue", 480)
    display.fault_window("postgres_latency", 1_795_687_200_000, 1_795_687_220_000)
    display.line("experiment 1/4: postgres_latency")
    display.close()
    assert "experiment 1/4: postgres_latency" in out.getvalue()


def _result(tmp_path: Path) -> JobResult:
    plan = read_plan(project_root() / PLANS_FOLDER / "quick.yaml")
    lines = (
        _line(PASS, name="ready/shop-1"),
        Judged(
            step="catalogue",
            verdict=Verdict.failed(
                "postgres_latency/checkout-latency",
                "p95 812 ms",
                Evidence(description="p95", budget_spent=0.02),
            ),
            judged="experiment postgres_latency",
            allowed=frozenset({FAIL}),
            budget_spent=0.02,
            detect_s=14.0,
            recover_s=6.0,
        ),
    )
    return JobResult(
        plan=plan,
        lines=lines,
        steps=(StepReport(kind="up", budget_s=180, seconds=200.0),),
        folder=RunFolder(tmp_path / "run"),
        report=tmp_path / "allure-report" / "index.html",
        score="resilience score 100.0/100 (1 of 1)",
        seconds=612.0,
    )


def test_the_summary_ends_with_score_report_folder_and_exit(tmp_path: Path) -> None:
    lines = summary_lines(_result(tmp_path))
    assert "budget spent 2.00%, detect 14.0 s, recover 6.0 s" in lines[2]
    assert lines[-5].startswith("step up") and lines[-5].endswith("OVER BUDGET")
    assert lines[-4] == "resilience score 100.0/100 (1 of 1)"
    assert lines[-3] == f"HTML report: {tmp_path / 'allure-report' / 'index.html'}"
    assert lines[-2] == f"run folder:  {tmp_path / 'run'}"
    assert lines[-1] == "plan quick: exit 0 (every verdict within its expected outcome) after 612 s"


def test_the_summary_on_a_terminal_is_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    render_summary(_result(tmp_path), out)
    text = out.getvalue()
    assert "verdicts beside their expectations" in text
    assert "postgres_latency/checkout-latency" in text and "2.00%" in text


def test_dry_run_lists_the_steps_and_starts_nothing(tmp_path: Path) -> None:
    plan = tmp_path / "tiny.yaml"
    plan.write_text(
        "plan: tiny\ndescription: up and down\nstack: minimal\nbudget: 2m\n"
        "steps:\n  - {step: up, budget: 1m}\n  - {step: down, budget: 1m}\n",
        encoding="utf-8",
    )
    runs_dir = tmp_path / "runs"
    result = CliRunner().invoke(
        build_cli(),
        ["--set", f"runs_dir={runs_dir}", "run", "--plan-file", str(plan), "--dry-run"],
    )
    assert result.exit_code == 0, result.output
    assert "1. up        budget   60 s" in result.output
    assert "dry run: nothing started; 0 problem(s)" in result.output
    assert not runs_dir.exists()


def test_an_unknown_plan_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["run", "--plan", "weekly", "--dry-run"])
    assert result.exit_code == 1 and "no plan 'weekly'" in str(result.exception)


def test_steps_run_in_order_and_a_spent_plan_budget_skips_all_but_report_and_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stormcheck.errors import BackendError
    from stormcheck.jobs import runner
    from stormcheck.jobs.steps import Job
    from stormcheck.plans import Step
    from stormcheck.settings import load_settings

    plan_path = tmp_path / "budgeted.yaml"
    plan_path.write_text(
        "plan: budgeted\ndescription: d\nstack: minimal\nbudget: 1m\nsteps:\n"
        "  - {step: smoke, budget: 1m}\n"
        "  - {step: gate, budget: 1m, load: {scenario: shop-open, share: 0.4}, window: 10s}\n"
        "  - {step: catalogue, budget: 1m, experiments: smoke, load: {scenario: shop-open, share: 0.4}}\n"
        "  - {step: report, budget: 1m}\n",
        encoding="utf-8",
    )
    plan = read_plan(plan_path)
    ran: list[str] = []
    clock = [0.0]

    def fake(kind: str) -> object:
        def step(job: Job, step: Step) -> list[Judged]:
            ran.append(kind)
            clock[0] += 45.0  # each step takes 45 s of the plan's 60
            if kind == "gate":
                raise BackendError("prometheus at http://x: unreachable")
            verdict = Verdict.passed(f"{kind}/ok", "fine")
            return [Judged(step=kind, verdict=verdict, judged=f"step {kind}")]

        return step

    monkeypatch.setattr(runner, "_sweep", lambda settings, display: None)
    monkeypatch.setattr(
        "stormcheck.jobs.runner.time", types.SimpleNamespace(monotonic=lambda: clock[0])
    )
    monkeypatch.setattr(runner, "STEPS", {k: fake(k) for k in STEP_KINDS})
    out = io.StringIO()
    result = runner.run_plan(
        plan, load_settings("local", env={}), LineDisplay(out), runs_dir=tmp_path / "runs", seed=3
    )
    assert ran == ["smoke", "gate", "report"]  # catalogue: the plan's budget was spent
    outcomes = [(j.step, j.verdict.name, j.verdict.outcome.value) for j in result.lines]
    assert outcomes == [
        ("smoke", "smoke/ok", "pass"),
        ("gate", "gate/ran", "inconclusive"),
        ("catalogue", "catalogue/not-run", "inconclusive"),
        ("report", "report/ok", "pass"),
    ]
    assert "prometheus at http://x: unreachable" in result.lines[1].verdict.reason
    assert result.exit_code == 2
    assert [s.seconds for s in result.steps] == [45.0, 45.0, None, 45.0]
