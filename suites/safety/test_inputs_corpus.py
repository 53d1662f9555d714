"""Every malformed input file is rejected with one located line, no traceback, within 5 s.

The corpus (``data/corpus/<kind>/``: settings profiles, experiments, load shapes, plans) holds one
file per fault; ``data/corpus/expected.yaml`` gives, for each, the line, field and message start
the rejection must carry. The SLO corpus (``suites/slo/test_validate_corpus.py``) counts as well.

Tier 0 checks every file in this process (the code the CLI runs) and one file of each kind
through the CLI in a subprocess, the way a user runs it; the nightly tier runs every file through
the CLI in its own process and times each. The 5 s limit is on the CPU time the check takes (of
the child process, for the CLI): wall time on a machine shared with other jobs measures the
other jobs; the wall time is reported beside it.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from stormcheck.chaos.experiment_file import experiment_files
from stormcheck.commands.validate import KINDS, detect_kind, validate_file
from stormcheck.inputs import MAX_FILE_BYTES
from stormcheck.load.shape_file import ShapeStage, read_shape
from stormcheck.paths import project_root

CORPUS = Path(__file__).parent / "data" / "corpus"
EXPECTED: dict[str, str] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file())
CORPUS_KINDS = ("settings", "experiment", "load-shape", "plan")
LIMIT_S = 5.0
# One file a kind goes through the CLI in tier 0 (the rest in process, the same code).
CLI_SAMPLES = (
    "settings/secret-in-clear.toml",
    "experiment/unknown-argument.yaml",
    "load-shape/until-goes-back.yaml",
    "plan/unknown-scenario.yaml",
)
# A value planted in the corpus that no message may repeat.
PLANTED_SECRET = "hunter2-in-clear"


def _relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _check(path: Path, output: str) -> None:
    """``output`` holds the expected located line for ``path``, every line is located, no trace."""
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith(str(path))]
    expected = f"{path}:{EXPECTED[_relative(path)]}"
    assert any(line.startswith(expected) for line in lines), (expected, output)
    located = re.compile(rf"^{re.escape(str(path))}:[1-9][0-9]*: \S")
    assert all(located.match(line) for line in lines), lines


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """The finished CLI process, its CPU seconds and its wall seconds."""
    cpu, started = _child_cpu_s(), time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "stormcheck", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=project_root(),
        env={k: v for k, v in os.environ.items() if not k.startswith("STORMCHECK_")},
    )
    return done, _child_cpu_s() - cpu, time.monotonic() - started


def _command(path: Path) -> list[str]:
    """What a user types for ``path``: ``experiment validate`` for experiments, else ``validate``."""
    kind = path.parent.name
    if kind == "experiment":
        return ["experiment", "validate", str(path)]
    return ["validate", "--kind", kind, str(path)]


@pytest.mark.unit
def test_the_corpus_has_at_least_40_files_across_the_four_kinds() -> None:
    assert len(FILES) >= 40, len(FILES)
    kinds = {kind: [p for p in FILES if p.parent.name == kind] for kind in CORPUS_KINDS}
    assert all(len(files) >= 8 for files in kinds.values()), {k: len(v) for k, v in kinds.items()}
    assert {p.parent.name for p in FILES} == set(CORPUS_KINDS) and set(CORPUS_KINDS) <= set(KINDS)
    assert sorted(EXPECTED) == [_relative(p) for p in FILES], "every file has one expectation"


@pytest.mark.unit
@pytest.mark.parametrize("path", FILES, ids=_relative)
def test_a_malformed_file_is_rejected_with_its_located_line(path: Path) -> None:
    started = time.process_time()
    problems = validate_file(path, path.parent.name)
    seconds = time.process_time() - started
    assert problems, f"{path} was accepted"
    _check(path, "\n".join(problems))
    assert PLANTED_SECRET not in "\n".join(problems)
    assert seconds <= LIMIT_S, f"{path}: {seconds:.2f} s"


@pytest.mark.unit
@pytest.mark.parametrize("kind", CORPUS_KINDS)
def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path, kind: str) -> None:
    path = tmp_path / ("big.toml" if kind == "settings" else "big.yaml")
    path.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1), encoding="utf-8")
    (problem,) = validate_file(path, kind)
    assert problem.startswith(f"{path}: larger than 256 KiB;"), problem


@pytest.mark.static
@pytest.mark.parametrize("sample", CLI_SAMPLES)
def test_the_cli_rejects_a_malformed_file_of_each_kind(sample: str) -> None:
    path = CORPUS / sample
    done, cpu_s, wall_s = _cli(*_command(path))
    assert done.returncode == 1, done.stdout + done.stderr
    _check(path, done.stdout + done.stderr)
    assert PLANTED_SECRET not in done.stdout + done.stderr
    assert cpu_s <= LIMIT_S, f"{sample}: {cpu_s:.2f} s CPU ({wall_s:.2f} s wall)"


@pytest.mark.slow
def test_every_corpus_file_through_the_cli_in_its_own_process() -> None:
    timings: dict[str, tuple[float, float]] = {}
    for path in FILES:
        done, cpu_s, wall_s = _cli(*_command(path))
        timings[_relative(path)] = (cpu_s, wall_s)
        assert done.returncode == 1, done.stdout + done.stderr
        _check(path, done.stdout + done.stderr)
    slowest = max(timings, key=lambda name: timings[name][0])
    cpu_s, wall_s = timings[slowest]
    print(f"slowest of {len(timings)}: {slowest} {cpu_s:.2f} s CPU, {wall_s:.2f} s wall")
    assert cpu_s <= LIMIT_S, timings


@pytest.mark.unit
def test_the_shipped_input_files_are_detected_and_valid() -> None:
    root = project_root()
    shipped = {
        "settings": sorted((root / "stormcheck" / "profiles").glob("*.toml")),
        "experiment": experiment_files(root / "experiments" / "local"),
        "expectations": [root / "experiments" / "local" / "expected.yaml"],
        "slo": sorted((root / "platform" / "slo").glob("*.yaml")),
        "plan": sorted((root / "experiments" / "plans").glob("*.yaml")),
        "load-shape": sorted((root / "load" / "shape-files").glob("*.yaml")),
    }
    for kind, paths in shipped.items():
        assert paths, kind
        for path in paths:
            assert detect_kind(path) == kind, path
            problems = validate_file(path)
            assert problems == [], problems


@pytest.mark.unit
def test_a_file_of_no_known_kind_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "what.yaml"
    path.write_text("# nothing we know\nname: x\n", encoding="utf-8")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:2: document: cannot tell what kind of file this is"), problem


@pytest.mark.unit
def test_a_load_shape_file_reads_as_the_stages_of_a_pattern(tmp_path: Path) -> None:
    path = tmp_path / "spike.yaml"
    path.write_text(
        "shape: spike\ndescription: the built-in spike pattern as a file\nstages:\n"
        "  - {until: 0.4, users: 0.2}\n  - {until: 0.6, users: 1}\n"
        "  - {until: 1, users: 0.2, ramped: true}\n",
        encoding="utf-8",
    )
    assert detect_kind(path) == "load-shape" and validate_file(path) == []
    assert read_shape(path).stages == (
        ShapeStage(0.4, 0.2),
        ShapeStage(0.6, 1.0),
        ShapeStage(1.0, 0.2, ramped=True),
    )
