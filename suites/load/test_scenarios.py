"""The scenario registry matches load/, and the runner's command lines (no Locust in this process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.cli import EXIT_ERROR, main
from stormcheck.errors import ConfigError
from stormcheck.load.runner import LoadPlan, build_commands
from stormcheck.load.scenarios import (
    PATTERN_NAMES,
    SCENARIOS,
    load_target,
    refuse_foreign_options,
    scenario,
)
from stormcheck.paths import project_root

LOAD = project_root() / "load"
LIBRARIES = {
    "__init__.py",
    "arrivals.py",
    "fast_json.py",
    "journeys.py",
    "lean_http.py",
    "request_log.py",
    "shapes.py",
    "shop_api.py",
}


@pytest.mark.static
def test_every_locustfile_in_load_is_a_registered_scenario() -> None:
    on_disk = {p.name for p in LOAD.glob("*.py")} - LIBRARIES
    registered = {Path(s.locustfile).name for s in SCENARIOS.values()}
    assert on_disk == registered, f"on disk {sorted(on_disk)}, registered {sorted(registered)}"
    assert all(s.path.is_file() for s in SCENARIOS.values())


@pytest.mark.static
def test_the_engine_knows_the_same_patterns_as_load_shapes() -> None:
    # load.shapes imports locust, which must never be imported into this process. One copy of
    # the patterns and one stage type: the locustfiles use the engine's.
    code = (
        "import json; from load.shapes import PATTERNS, Stage;"
        " from stormcheck.load import patterns, shape_file;"
        " print(json.dumps([sorted(PATTERNS), PATTERNS is patterns.PATTERNS,"
        " Stage is shape_file.ShapeStage]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project_root(), capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [sorted(PATTERN_NAMES), True, True]
    assert "locust" not in sys.modules


@pytest.mark.unit
def test_distributed_plan_starts_a_master_and_its_workers_on_loopback(tmp_path: Path) -> None:
    plan = LoadPlan(scenario=scenario("shop-open"), host="http://127.0.0.1:1", rate=30, workers=2)
    master, *workers = build_commands(
        plan,
        request_log=tmp_path / "r.jsonl",
        csv_prefix=tmp_path / "s",
        master_port=5557,
        web_port=0,
    )
    assert len(workers) == 2
    assert "--master" in master and "--expect-workers" in master and "--headless" in master
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert master[master.index("--arrival-generators") + 1] == "2"
    assert master[master.index("--request-log") + 1] == str(tmp_path / "r.jsonl")
    for worker in workers:
        assert "--worker" in worker and worker[worker.index("--master-port") + 1] == "5557"


@pytest.mark.unit
def test_web_plan_listens_on_loopback_only(tmp_path: Path) -> None:
    plan = LoadPlan(scenario=scenario("shop"), host="http://127.0.0.1:1", web=True, duration_s=None)
    (command,) = build_commands(
        plan, request_log=tmp_path / "r", csv_prefix=tmp_path / "s", master_port=1, web_port=8089
    )
    assert "--headless" not in command
    assert command[command.index("--web-host") + 1] == "127.0.0.1"


@pytest.mark.unit
def test_bad_plans_and_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        LoadPlan(scenario=scenario("shop"), host="127.0.0.1:1")
    with pytest.raises(ConfigError, match="needs a duration"):
        LoadPlan(scenario=scenario("shop"), host="http://h", duration_s=None)
    with pytest.raises(ConfigError, match="expected one of"):
        scenario("nope")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("components", "expected"),
    [
        (("shop-1", "shop-2", "shop-3", "ingress", "prometheus"), ("ingress", "api")),
        (("postgres", "redis", "shop-1", "prometheus"), ("shop-1", "api")),
    ],
    ids=["full-stack-through-the-ingress", "minimal-stack-to-shop-1"],
)
def test_load_goes_through_the_ingress_when_the_run_has_one(
    components: tuple[str, ...], expected: tuple[str, str]
) -> None:
    for chosen in SCENARIOS.values():
        assert load_target(chosen, components) == expected, chosen.name


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "given", "refused"),
    [
        ("shop", ["--rate"], "--rate"),
        ("shop", ["--share"], "--share"),
        ("shop-open", ["--users"], "--users"),
        ("shop-open", ["--spawn-rate"], "--spawn-rate"),
        ("shop-shaped", ["--rate"], "--rate"),
        ("shop-shaped", ["--spawn-rate"], "--spawn-rate"),
        ("shop", ["--shape"], "--shape"),
    ],
)
def test_an_option_of_another_load_model_is_refused_in_one_line(
    name: str, given: list[str], refused: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        refuse_foreign_options(scenario(name), [*given, "--duration", "--run"])
    message = str(caught.value)
    assert "\n" not in message
    assert f"{refused} does not apply" in message and repr(name) in message, message


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("shop", ["--users", "--spawn-rate", "--duration"]),
        ("shop-open", ["--rate", "--share", "--workers"]),
        ("shop-shaped", ["--users", "--shape", "--web"]),
    ],
)
def test_the_options_of_a_scenarios_own_model_are_accepted(name: str, given: list[str]) -> None:
    refuse_foreign_options(scenario(name), given)


@pytest.mark.unit
def test_load_refuses_rate_for_the_closed_scenario_before_touching_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))  # empty: no run to find
    with pytest.raises(SystemExit) as caught:
        main(["load", "shop", "--rate", "20"])
    assert caught.value.code == EXIT_ERROR
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and not out, (out, err)
    assert "load scenario 'shop' is closed-model: --rate does not apply" in lines[0]
    assert "use shop-open for --rate" in lines[0]


@pytest.mark.unit
def test_load_with_the_defaults_of_other_models_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --share, --shape have defaults, which are not "given": the error is the missing run
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["load", "shop", "--users", "5"])
    err = capsys.readouterr().err
    assert "does not apply" not in err
    assert "no run is up" in err, err
