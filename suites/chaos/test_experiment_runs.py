"""Experiments against the session's full stack: plain ``chaos run`` with only environment
variables, and the library path's promises (rollbacks always, inconclusive before the method, a
failing action is a harness error, a replay hits the same targets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stormcheck.chaos.context import RunHandle
from stormcheck.chaos.experiment import run_experiment_file
from stormcheck.chaos.journal import ExperimentOutcome, read_journal
from stormcheck.chaos.snapshot import settled, take
from stormcheck.local.session import runs_dir
from stormcheck.paths import project_root
from stormcheck.settings import Settings
from stormcheck.testing import PlatformRun

pytestmark = pytest.mark.integration

PROBES = "stormcheck.chaos.local.probes"
ACTIONS = "stormcheck.chaos.local.actions"


@pytest.fixture
def chaos_env(
    full_platform: PlatformRun, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Activities in this process find the session's run folders (as a `chaos` process would)."""
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs_dir(settings)))
    return {"STORMCHECK_RUNS_DIR": str(runs_dir(settings))}


def _settled_diff(full_platform: PlatformRun, settings: Settings, before: Any) -> list[str]:
    handle = RunHandle(full_platform.folder, settings)
    try:
        return settled(handle, before)
    finally:
        handle.close()


def test_plain_chaos_run_with_only_environment_variables_leaves_nothing_behind(
    full_platform: PlatformRun, settings: Settings, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    handle = RunHandle(full_platform.folder, settings)
    try:
        before = take(handle)
    finally:
        handle.close()
    journal_path = tmp_path / "journals" / "replica_killed.json"
    journal_path.parent.mkdir()
    env = {
        **os.environ,
        **chaos_env,
        "STORMCHECK_RUN": full_platform.folder.run_id,
        "STORMCHECK_EXPERIMENT_RECOVERY_WATCH_S": "10",  # compressed further for tier 1
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "chaos"),
            "--no-version-check",
            "--no-log-file",
            "run",
            "--journal-path",
            str(journal_path),
            str(project_root() / "experiments" / "local" / "replica_killed.yaml"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    journal = json.loads(journal_path.read_text())
    reading = read_journal(journal)
    assert reading.outcome is ExperimentOutcome.HELD, reading.explain()
    (killed,) = reading.actions
    assert len(killed["targets"]) == 1 and killed["targets"][0].startswith("shop-"), killed
    (rollback,) = journal["rollbacks"]
    assert rollback["output"]["undone"] == killed["fault_ids"], rollback
    assert not (tmp_path / "chaostoolkit.log").exists()
    assert not (tmp_path / "journal.json").exists()
    assert _settled_diff(full_platform, settings, before) == []


def _experiment(
    tmp_path: Path, name: str, probes: list[dict[str, Any]], method: list[dict[str, Any]]
) -> Path:
    document = {
        "version": "1.0.0",
        "title": f"Does the platform hold ({name})?",
        "description": "a test experiment",
        "configuration": {
            "stormcheck_run": {"type": "env", "key": "STORMCHECK_RUN", "default": ""}
        },
        "controls": [
            {
                "name": "stormcheck",
                "provider": {"type": "python", "module": "stormcheck.chaos.control"},
            }
        ],
        "steady-state-hypothesis": {"title": "it answers", "probes": probes},
        "method": method,
        "rollbacks": [
            {
                "name": "start-what-was-killed",
                "type": "action",
                "provider": {"type": "python", "module": ACTIONS, "func": "undo_kill"},
            }
        ],
        # no runtime section: Chaos Toolkit's default strategy would skip the rollbacks of a
        # deviated run; the library path must play them anyway
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _answers(component: str, expected: int = 200) -> dict[str, Any]:
    return {
        "name": f"{component}-answers",
        "type": "probe",
        "tolerance": expected,
        "provider": {
            "type": "python",
            "module": PROBES,
            "func": "http_status",
            "arguments": {"path": "/health", "component": component, "endpoint": "api"},
        },
    }


def _kill(target: str, share: float = 1.0) -> dict[str, Any]:
    return {
        "name": "kill",
        "type": "action",
        "provider": {
            "type": "python",
            "module": ACTIONS,
            "func": "kill",
            "arguments": {"target": target, "share": share},
        },
    }


def test_a_probe_that_fails_after_injection_still_rolls_back_and_a_replay_hits_the_same_target(
    full_platform: PlatformRun, settings: Settings, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    replicas = sorted(n for n, r in full_platform.manifest.components.items() if r.role == "shop")
    path = _experiment(
        tmp_path, "kill_one", [_answers(r) for r in replicas], [_kill("shop", share=0.34)]
    )
    first = run_experiment_file(path, full_platform.folder, settings)
    assert first.reading.outcome is ExperimentOutcome.DEVIATED, first.explain()
    assert first.exit_code == 1
    journal = json.loads(first.journal_path.read_text())
    (rollback,) = journal["rollbacks"]
    assert rollback["status"] == "succeeded" and len(rollback["output"]["undone"]) == 1, rollback
    assert first.diff == (), first.diff
    assert first.journal_path.parent == full_platform.folder.journals_dir

    replay = run_experiment_file(path, full_platform.folder, settings, replay=full_platform.folder)
    (was,), (again,) = first.reading.actions, replay.reading.actions
    assert (again["targets"], again["seed"]) == (was["targets"], was["seed"])
    recorded = json.loads(replay.journal_path.read_text())["stormcheck"]
    assert recorded["replay_of"] == str(first.journal_path)
    assert replay.diff == ()


def test_a_steady_state_not_met_before_the_method_is_inconclusive_and_injects_nothing(
    full_platform: PlatformRun, settings: Settings, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    path = _experiment(tmp_path, "not_ready", [_answers("ingress", 599)], [_kill("shop-1")])
    result = run_experiment_file(path, full_platform.folder, settings, settle_s=0)
    assert result.reading.outcome is ExperimentOutcome.INCONCLUSIVE, result.explain()
    assert result.reading.reasons[1] == "ingress-answers gave 200"
    assert json.loads(result.journal_path.read_text())["run"] == []
    assert result.exit_code == 2 and result.diff == ()


def test_a_failing_action_is_a_harness_error_never_a_pass(
    full_platform: PlatformRun, settings: Settings, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    path = _experiment(tmp_path, "bad_target", [_answers("ingress")], [_kill("no-such-member")])
    result = run_experiment_file(path, full_platform.folder, settings, settle_s=0)
    journal = json.loads(result.journal_path.read_text())
    assert (journal["status"], journal["deviated"]) == ("completed", False)  # chaoslib's view
    assert result.reading.outcome is ExperimentOutcome.ERROR, result.explain()
    assert "action 'kill' failed: " in result.reading.reasons[0]
    assert "'no-such-member' is neither a component nor a role" in result.reading.reasons[0]
    assert result.exit_code == 2 and result.diff == ()


def test_stormcheck_experiment_run_attaches_keeps_the_journal_and_exits_0_when_it_held(
    full_platform: PlatformRun, chaos_env: dict[str, str]
) -> None:
    from click.testing import CliRunner

    from stormcheck.cli import build_cli

    noop = project_root() / "benchmarks" / "data" / "noop_experiment.yaml"
    before = set(full_platform.folder.journals_dir.glob("*-noop_experiment.json"))
    result = CliRunner().invoke(
        build_cli(), ["experiment", "run", str(noop), "--run", full_platform.folder.run_id]
    )
    assert result.exit_code == 0, result.output
    assert "held: the steady state held before and after the method" in result.output
    assert "snapshot diff: empty" in result.output
    (journal,) = set(full_platform.folder.journals_dir.glob("*-noop_experiment.json")) - before
    assert json.loads(journal.read_text())["stormcheck"]["outcome"] == "held"
