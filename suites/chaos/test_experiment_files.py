"""The fault catalogue's experiment files: Chaos Toolkit's validation and the catalogue's rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from stormcheck.chaos.experiment_file import check_experiment, experiment_files, read_experiment
from stormcheck.cli import build_cli
from stormcheck.paths import project_root

pytestmark = pytest.mark.static

CATALOGUE = project_root() / "experiments" / "local"
FILES = experiment_files(CATALOGUE)
# one experiment per fault the platform team fears (the catalogue)
EXPECTED = {
    "api_cpu_starved",
    "api_replica_oom",
    "database_disk_full",
    "logstore_down",
    "postgres_latency",
    "postgres_primary_cut_off",
    "postgres_primary_killed",
    "postgres_unreachable",
    "postgres_blackholed",
    "prometheus_down",
    "redis_blackholed",
    "redis_down",
    "redis_master_killed",
    "replica_killed",
    "replica_paused",
    "traffic_spike",
    "zone_b_lost",
}


def test_the_catalogue_has_one_file_per_fault() -> None:
    assert {p.stem for p in FILES} == EXPECTED


# chaostoolkit's CLI imports python-json-logger by its old module name
@pytest.mark.filterwarnings("ignore:pythonjsonlogger.jsonlogger has been moved:DeprecationWarning")
def test_every_experiment_passes_chaos_validate() -> None:
    """The ``chaos validate`` command itself (chaostoolkit's click CLI, in this process)."""
    from chaostoolkit.cli import cli as chaos

    runner = CliRunner()
    for path in FILES:
        result = runner.invoke(
            chaos, ["--no-version-check", "--no-log-file", "validate", str(path)]
        )
        assert result.exit_code == 0, f"chaos validate {path.name}: {result.output}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_experiment_keeps_the_catalogue_rules(path: Path) -> None:
    assert check_experiment(path) == []
    found = read_experiment(path)
    assert found.title.endswith("?"), found.title
    assert found.document["runtime"]["rollbacks"]["strategy"] == "always"
    # durations are configuration a user can lengthen (--var or the environment), never literals:
    # every action's pause, and the span of a probe sampling in the background
    method = found.document["method"]
    actions = [a for a in method if not a.get("background")]
    assert all(str(a.get("pauses", {}).get("after", "")).startswith("${") for a in actions)
    spans = [a["provider"]["arguments"]["span_s"] for a in method if a.get("background")]
    assert all(str(span).startswith("${") for span in spans)


def _broken(tmp_path: Path, change: str, value: object) -> Path:
    document = yaml.safe_load((CATALOGUE / "postgres_latency.yaml").read_text())
    target = document
    *parents, last = change.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("change", "value", "expected"),
    [
        ("title", "Postgres latency", "title: expected the question the experiment answers"),
        ("runtime", None, "runtime.rollbacks.strategy: expected always, got None"),
        ("controls", None, "controls: expected the stormcheck control"),
        ("rollbacks", None, "rollbacks: expected a rollback of the faults the method injects"),
        (
            "method.0.provider.func",
            "add_lag",
            "method[0].provider.func: stormcheck.chaos.local.actions has no public activity",
        ),
        (
            "method.0.provider.arguments.latency",
            300,
            "method[0].provider.arguments.latency: stormcheck.chaos.local.actions.add_latency"
            " takes no such argument",
        ),
        (
            "method.0.provider.arguments.latency_ms",
            None,
            "method[0].provider.arguments: add_latency needs 'latency_ms'",
        ),
        (
            "configuration.recovery_watch_s",
            None,
            "configuration: ${recovery_watch_s} is used but not declared",
        ),
        (
            "steady-state-hypothesis.probes.1.tolerance",
            ["pass", "inconclusive"],
            "steady-state-hypothesis.probes[1].tolerance: ['pass', 'inconclusive'] is read as a"
            " range",
        ),
        ("contributions.speed", "high", "contributions.speed: expected one of availability"),
    ],
)
def test_a_broken_experiment_is_named_by_file_field_and_what_was_expected(
    tmp_path: Path, change: str, value: object, expected: str
) -> None:
    path = _broken(tmp_path, change, value)
    problems = check_experiment(path)
    # located: file:line: field: message (exact lines are checked by the safety input corpus)
    located = re.compile(rf"{re.escape(str(path))}:[1-9][0-9]*: {re.escape(expected)}")
    assert any(located.match(line) for line in problems), problems


def test_experiment_validate_exits_1_on_a_broken_file_and_0_on_the_catalogue(
    tmp_path: Path,
) -> None:
    broken = _broken(tmp_path, "title", "no question")
    runner = CliRunner()
    bad = runner.invoke(build_cli(), ["experiment", "validate", str(broken)])
    assert bad.exit_code == 1, bad.output
    assert re.search(rf"{re.escape(str(broken))}:\d+: title: expected the question", bad.output)
    good = runner.invoke(build_cli(), ["experiment", "validate"])
    assert good.exit_code == 0, good.output
    assert f"{len(FILES)} experiment(s), 0 problem(s)" in good.output
    listed = runner.invoke(build_cli(), ["experiment", "list"])
    assert listed.exit_code == 0 and "Does checkout survive losing the PostgreSQL primary?" in (
        listed.output
    )


def test_a_file_that_is_not_an_experiment_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n")
    assert check_experiment(path) == [
        f"{path}:1: document: expected an experiment (a mapping), got a list"
    ]
    path.write_text("title: [unclosed\n")
    (line,) = check_experiment(path)
    assert line.startswith(f"{path}:2: not valid YAML"), line
