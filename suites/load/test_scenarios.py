"""The scenario registry matches load/, and the runner's command lines (no Locust in this process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.load.runner import LoadPlan, build_commands
from stormcheck.load.scenarios import PATTERN_NAMES, SCENARIOS, scenario
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
    # load.shapes imports locust, which must never be imported into this process.
    code = "import json; from load.shapes import PATTERNS; print(json.dumps(sorted(PATTERNS)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project_root(), capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == sorted(PATTERN_NAMES)
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
