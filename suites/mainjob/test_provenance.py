"""The run file's provenance: its fields round-trip, secrets stay out, the host is described."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stormcheck.local.provenance import VERSION_COMMANDS, git_state, host_cpu, redacted_settings
from stormcheck.paths import catalogue_path
from stormcheck.runs import Provenance
from stormcheck.settings import load_settings

pytestmark = pytest.mark.unit


def test_provenance_round_trips_and_older_run_files_still_read() -> None:
    full = Provenance(
        git_commit="a" * 40,
        git_dirty=True,
        image_ids={"shop": "sha256:1"},
        seeds={"catalogue": 7},
        component_versions={"postgres": "postgres (PostgreSQL) 15.10"},
        versions={"python": "3.12.1"},
        settings={"stack": "full"},
        host={"cores": 2},
        load_generator={"budget_cores": 0.5},
    )
    assert Provenance.from_dict(full.to_dict()) == full
    older: dict[str, Any] = {
        "git_commit": None,
        "image_ids": {},
        "seeds": {},
        "component_versions": {},
    }
    assert Provenance.from_dict(older) == Provenance()


def test_settings_are_recorded_without_passwords() -> None:
    settings = load_settings(
        "local",
        overrides={"prometheus_url": "https://reader:s3cret@prometheus.example:9090"},
        env={},
    )
    recorded = redacted_settings(settings)
    assert recorded["prometheus_url"] == "https://reader@prometheus.example:9090"
    assert "s3cret" not in repr(recorded)
    assert set(recorded) == {f.name for f in dataclasses.fields(settings)}


def test_git_state_names_the_commit_and_a_dirty_tree(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert git_state(tmp_path) == (None, None)
    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "one")
    commit, dirty = git_state(tmp_path)
    assert commit is not None and len(commit) == 40 and dirty is False
    (tmp_path / "a.txt").write_text("two\n")
    assert git_state(tmp_path) == (commit, True)


def test_host_cpu_describes_this_machine() -> None:
    cpu = host_cpu()
    assert cpu["cores"] == os.cpu_count()
    assert 1 <= cpu["usable_cores"] <= cpu["cores"]
    assert len(cpu["load_average"]) == 3 and cpu["kernel"]


def test_every_role_of_the_catalogue_has_a_way_to_say_its_version() -> None:
    import tomllib

    roles = set(tomllib.loads(catalogue_path().read_text(encoding="utf-8"))["roles"])
    asked_by_api = {"opensearch"}
    assert roles - asked_by_api == set(VERSION_COMMANDS)
