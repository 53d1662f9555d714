"""``stormcheck load --shape``: a built-in pattern or a load-shape file, and its way to Locust.

The engine reads the file (located errors, before any run is touched) and hands its stages to the
Locust process as one option value; Locust's side reads them back with the same code. No Locust
in this process: the one check on Locust's own parser runs it in a subprocess.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.cli import EXIT_ERROR, main
from stormcheck.errors import ConfigError
from stormcheck.inputs import InputError
from stormcheck.load.patterns import (
    PATTERNS,
    format_stages,
    parse_stages,
    stage_at,
)
from stormcheck.load.runner import LoadPlan, build_commands
from stormcheck.load.scenarios import scenario
from stormcheck.load.shape_file import ShapeStage, read_shape, resolve_shape
from stormcheck.paths import project_root

EXAMPLE = project_root() / "load" / "shape-files" / "warm-burst.yaml"
CORPUS = project_root() / "suites" / "safety" / "data" / "corpus" / "load-shape"

ONE_THEN_THREE = (
    "shape: one-then-three\nstages:\n  - {until: 0.5, users: 0.3}\n  - {until: 1, users: 1}\n"
)


def _shape_file(folder: Path, text: str = ONE_THEN_THREE, name: str = "one-then-three") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _commands(plan: LoadPlan, tmp_path: Path) -> list[str]:
    (command,) = build_commands(
        plan, request_log=tmp_path / "r", csv_prefix=tmp_path / "s", master_port=1, web_port=1
    )
    return command


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_the_stages_of_every_built_in_pattern_survive_the_command_line(name: str) -> None:
    text = format_stages(PATTERNS[name])
    assert " " not in text
    assert parse_stages(text) == PATTERNS[name]


@pytest.mark.unit
def test_a_files_stages_survive_the_command_line_exactly() -> None:
    stages = read_shape(EXAMPLE).stages
    text = format_stages(stages)
    assert text == "0.2:0.5:1,0.5:0.5:0,0.7:1.0:0,1.0:0.25:0"
    assert parse_stages(text) == stages
    odd = (ShapeStage(1 / 3, 0.1 + 0.2), ShapeStage(1.0, 1.0, ramped=True))
    assert parse_stages(format_stages(odd)) == odd  # repr round-trips every float


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "stage 1 '': expected until:users:ramped"),
        ("0.5:0.3", "stage 1 '0.5:0.3': expected until:users:ramped"),
        ("0.5:0.3:yes,1:1:0", "stage 1 '0.5:0.3:yes': expected until:users:ramped"),
        ("0.5:x:0,1:1:0", "stage 1 '0.5:x:0': until and users must be numbers"),
        ("nan:0.3:0,1:1:0", "stage 1 'nan:0.3:0': until and users must be finite"),
        ("0.5:0.3:0,0.4:1:0,1:1:0", "stage 2: until 0.4 is not after 0.5 and at most 1"),
        ("0.5:0:0,1:1:0", "stage 1: users 0 is not in (0, 1]"),
        ("0.5:1.5:0,1:1:0", "stage 1: users 1.5 is not in (0, 1]"),
        ("0.5:0.3:0", "the last stage ends at 0.5, not at the end of the run (1)"),
    ],
    ids=[
        "empty",
        "two-fields",
        "ramped-not-0-or-1",
        "users-not-a-number",
        "nan",
        "until-goes-back",
        "no-users",
        "users-over-peak",
        "does-not-end",
    ],
)
def test_malformed_stages_text_is_one_line_naming_the_stage(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}") as caught:
        parse_stages(text)
    assert "\n" not in str(caught.value)


@pytest.mark.unit
def test_one_then_three_users_is_what_the_shape_asks_at_each_moment() -> None:
    stages = parse_stages("0.5:0.3:0,1:1:0")
    timeline = [stage_at(stages, t, length_s=10, peak_users=3) for t in (0, 4.9, 5, 9.9, 10)]
    assert timeline == [(1, 1.0), (1, 1.0), (3, 3.0), (3, 3.0), None]
    ramped = (ShapeStage(1.0, 1.0, ramped=True),)
    assert stage_at(ramped, 0, length_s=10, peak_users=20) == (20, 2.0)  # 20 users over 10 s


@pytest.mark.unit
def test_a_built_in_name_resolves_to_itself_and_a_file_to_its_stages(tmp_path: Path) -> None:
    assert resolve_shape("spike") == ("spike", None)
    path = _shape_file(tmp_path)
    assert resolve_shape(str(path)) == (
        "one-then-three",
        (ShapeStage(0.5, 0.3), ShapeStage(1.0, 1.0)),
    )
    yml = _shape_file(tmp_path, ONE_THEN_THREE.replace("one-then-three", "short"), name="short")
    assert resolve_shape(str(yml.rename(tmp_path / "short.yml")))[0] == "short"


@pytest.mark.unit
def test_a_shape_that_is_neither_a_name_nor_a_yaml_file_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_shape("sawtooth")
    assert str(caught.value) == (
        "--shape 'sawtooth': expected a built-in pattern (ramp, soak, spike, step)"
        " or a load-shape file (*.yaml, *.yml)"
    )


@pytest.mark.unit
def test_a_missing_shape_file_is_a_located_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        resolve_shape(str(tmp_path / "absent.yaml"))
    assert str(caught.value).startswith(f"{tmp_path / 'absent.yaml'}: cannot read:"), caught.value


@pytest.mark.unit
def test_a_files_stages_go_to_locust_as_pattern_stages(tmp_path: Path) -> None:
    name, stages = resolve_shape(str(_shape_file(tmp_path)))
    plan = LoadPlan(
        scenario=scenario("shop-shaped"),
        host="http://127.0.0.1:1",
        users=3,
        duration_s=12,
        pattern=name,
        stages=stages,
    )
    command = _commands(plan, tmp_path)
    assert "--pattern" not in command
    assert command[command.index("--pattern-stages") + 1] == "0.5:0.3:0,1.0:1.0:0"
    assert command[command.index("--peak-users") + 1] == "3"
    assert command[command.index("--pattern-seconds") + 1] == "12"
    built_in = LoadPlan(scenario=scenario("shop-shaped"), host="http://h", pattern="spike")
    command = _commands(built_in, tmp_path)
    assert command[command.index("--pattern") + 1] == "spike"
    assert "--pattern-stages" not in command


@pytest.mark.unit
def test_a_plan_with_an_unknown_pattern_or_bad_stages_is_a_config_error() -> None:
    shaped = scenario("shop-shaped")
    with pytest.raises(ConfigError, match="pattern 'sawtooth' is not one of ramp, soak"):
        LoadPlan(scenario=shaped, host="http://h", pattern="sawtooth")
    with pytest.raises(ConfigError, match=r"shape 'mine': the last stage ends at 0\.5"):
        LoadPlan(scenario=shaped, host="http://h", pattern="mine", stages=(ShapeStage(0.5, 1),))


@pytest.mark.unit
def test_load_refuses_a_malformed_shape_file_with_its_located_line_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))  # empty: no run to find
    path = CORPUS / "until-goes-back.yaml"
    with pytest.raises(SystemExit) as caught:
        main(["load", "shop-shaped", "--shape", str(path)])
    assert caught.value.code == EXIT_ERROR
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        f"error: {path}:5: stages[1].until: 0.3 does not come after the previous stage's end (0.4)"
    ], (out, err)


@pytest.mark.unit
def test_load_lists_every_problem_of_a_shape_file_one_located_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))
    path = _shape_file(
        tmp_path,
        "shape: three-faults\nstages:\n  - {until: 0.5, users: 0.5, ramp: true}\n"
        "  - {until: 0.4, users: 1}\n  - {until: 1, users: 0}\n",
        name="three-faults",
    )
    with pytest.raises(SystemExit) as caught:
        main(["load", "shop-shaped", "--shape", str(path)])
    assert caught.value.code == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"error: 3 problems in {path}:\n"), err
    located = [line for line in err.splitlines() if line.startswith(str(path))]
    assert located == [
        f"{path}:3: stages[0].ramp: unknown field; expected one of ramped, until, users",
        f"{path}:4: stages[1].until: 0.4 does not come after the previous stage's end (0.5)",
        f"{path}:5: stages[2].users: 0 is not in (0, 1] (a share of the peak)",
    ]


@pytest.mark.unit
def test_load_refuses_a_shape_file_for_a_scenario_of_another_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as caught:
        main(["load", "shop", "--shape", str(_shape_file(tmp_path))])
    assert caught.value.code == EXIT_ERROR
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "load scenario 'shop' is closed-model: --shape does not apply" in lines[0]
    assert "use shop-shaped for --shape" in lines[0]


@pytest.mark.unit
def test_load_with_a_good_shape_file_gets_as_far_as_finding_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as caught:
        main(["load", "shop-shaped", "--shape", str(EXAMPLE), "--users", "20"])
    assert caught.value.code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "no run is up" in err and str(EXAMPLE) not in err, err


@pytest.mark.static
def test_locusts_own_parser_refuses_malformed_pattern_stages_in_one_line() -> None:
    command = [sys.executable, "-m", "locust", "-f", "load/shop_shaped.py", "--headless"]
    command += ["--host", "http://127.0.0.1:1", "--pattern-stages", "0.5:0.3:0,0.4:1:0"]
    done = subprocess.run(
        command, cwd=project_root(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr  # argparse's usage error
    assert "Traceback" not in done.stderr, done.stderr
    assert "argument --pattern-stages: stage 2: until 0.4 is not after 0.5" in done.stderr, (
        done.stderr
    )
