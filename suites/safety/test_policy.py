"""The blast-radius policy: allowed targets, production consent, shares of roles and zones, and
the dry run (tier 0: no Docker, no run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stormcheck.chaos.experiment_file import experiment_files
from stormcheck.chaos.local.actions import choose
from stormcheck.chaos.policy import (
    Member,
    PolicyRefusal,
    check_experiment,
    dry_run,
    plan_activity,
    settings_in_force,
)
from stormcheck.errors import ConfigError
from stormcheck.paths import project_root
from stormcheck.runs import ComponentRecord, Lease, Manifest, RunFolder
from stormcheck.settings import load_settings

pytestmark = pytest.mark.unit

LOCAL = project_root() / "experiments" / "local"
CANARY = project_root() / "experiments" / "canary" / "canary_planted_breach.yaml"
MEMBERS = [
    Member("shop-1", "shop", "a"),
    Member("shop-2", "shop", "b"),
    Member("shop-3", "shop", "c"),
    Member("pg-1", "patroni", "a"),
    Member("pg-2", "patroni", "b"),
    Member("toxiproxy", "toxiproxy", "a"),
]


def _kill(share: float, seed: int | None = None) -> dict[str, object]:
    arguments: dict[str, object] = {"target": "shop", "share": share}
    if seed is not None:
        arguments["seed"] = seed
    return {
        "name": "kill-some",
        "type": "action",
        "provider": {
            "type": "python",
            "module": "stormcheck.chaos.local.actions",
            "func": "kill",
            "arguments": arguments,
        },
    }


def _run_folder(tmp_path: Path, run_id: str = "r-test") -> RunFolder:
    folder = RunFolder(tmp_path / run_id).create()
    manifest = Manifest(
        run_id=run_id,
        profile="local",
        stack="full",
        created_ms=0,
        lease=Lease.for_current_process(),
        state="up",
        network="n",
    )
    for m in MEMBERS:
        manifest.add(
            ComponentRecord(
                name=m.name,
                role=m.role,
                zone=m.zone,
                image="i",
                container=m.name,
                endpoints={},
                ready_s=0.0,
            )
        )
    folder.write_manifest(manifest)
    return folder


def test_the_dry_run_chooses_the_members_the_action_would() -> None:
    for seed in (1, 7, 42, 1234):
        planned = plan_activity(_kill(0.34), MEMBERS, seed=seed)
        assert planned.targets == tuple(choose(["shop-1", "shop-2", "shop-3"], 0.34, seed))
        assert len(planned.targets) == 1
        assert f"seed {seed}" in planned.what
    # a seed in the arguments wins over the one given
    assert plan_activity(_kill(0.34, seed=7), MEMBERS, seed=1).targets == tuple(
        choose(["shop-1", "shop-2", "shop-3"], 0.34, 7)
    )


def test_a_link_fault_counts_as_every_api_replica() -> None:
    latency = {
        "name": "latency",
        "type": "action",
        "provider": {
            "type": "python",
            "module": "stormcheck.chaos.local.actions",
            "func": "add_latency",
            "arguments": {"link": "postgres", "latency_ms": 300, "duration_s": 5},
        },
    }
    planned = plan_activity(latency, MEMBERS, seed=0)
    assert planned.roles_hit == {"shop": frozenset({"shop-1", "shop-2", "shop-3"})}


def test_the_catalogue_is_allowed_under_the_local_profile(tmp_path: Path) -> None:
    settings = load_settings("local", env={})
    for path in experiment_files(LOCAL):
        planned = dry_run(path, None, settings, 5)
        assert planned.allowed, f"{path.name}: {planned.refusal}"
        assert "nothing was changed" in planned.describe()


def test_the_dry_run_refuses_what_the_share_forbids() -> None:
    settings = load_settings("local", env={"STORMCHECK_MAX_BLAST_SHARE": "0.5"})
    planned = dry_run(CANARY, None, settings, 3)
    assert not planned.allowed
    assert planned.refusal == (
        "the experiment hits 3 of 3 shop member(s) (100%); max_blast_share is 50%"
    )
    assert "REFUSED" in planned.describe()
    assert dry_run(LOCAL / "replica_killed.yaml", None, settings, 3).allowed


def test_a_run_outside_the_allow_list_is_refused(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    experiment = {"title": "t", "method": [_kill(0.34)]}
    allowed = load_settings("local", env={"STORMCHECK_ALLOWED_TARGETS": "local:r-*"})
    with settings_in_force(allowed) as refusals:
        check_experiment(folder, experiment, {})
    assert refusals == []
    other = dataclasses.replace(allowed, allowed_targets=("local:other-*", "kube:prod"))
    with settings_in_force(other) as refusals, pytest.raises(PolicyRefusal) as refused:
        check_experiment(folder, experiment, {})
    assert str(refused.value) == (
        "target local:r-test is not in allowed_targets (local:other-*, kube:prod)"
    )
    assert refusals == [str(refused.value)]


def test_production_needs_the_flag_and_a_stop_condition(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    plain = {"title": "t", "method": [_kill(0.34)]}
    guarded = {
        **plain,
        "controls": [
            {
                "name": "stop",
                "provider": {
                    "type": "python",
                    "module": "stormcheck.chaos.safeguards",
                    "arguments": {"conditions": [{"alert": "ShopAllReplicasDown"}]},
                },
            }
        ],
    }
    production = load_settings("local", env={"STORMCHECK_PRODUCTION_TARGETS": "local:*"})
    with settings_in_force(production), pytest.raises(PolicyRefusal, match="--allow-production"):
        check_experiment(folder, guarded, {})
    consent = dataclasses.replace(production, allow_production=True)
    with settings_in_force(consent):
        with pytest.raises(PolicyRefusal, match="at least one stop condition"):
            check_experiment(folder, plain, {})
        check_experiment(folder, guarded, {})


def test_an_action_whose_targets_are_unknown_is_refused_below_100_percent(
    tmp_path: Path,
) -> None:
    folder = _run_folder(tmp_path)
    foreign = {
        "title": "t",
        "method": [
            {
                "name": "drain",
                "type": "action",
                "provider": {"type": "python", "module": "chaosk8s.node.actions", "func": "drain"},
            }
        ],
    }
    with settings_in_force(load_settings("local", env={})):
        check_experiment(folder, foreign, {})
    half = load_settings("local", env={"STORMCHECK_MAX_BLAST_SHARE": "0.5"})
    with settings_in_force(half), pytest.raises(PolicyRefusal, match="cannot tell what drain"):
        check_experiment(folder, foreign, {})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "STORMCHECK_MAX_BLAST_SHARE",
            "1.5",
            "max_blast_share from environment STORMCHECK_MAX_BLAST_SHARE: expected a share in"
            " (0, 1], got '1.5'",
        ),
        (
            "STORMCHECK_ALLOWED_TARGETS",
            "local:a b",
            "allowed_targets from environment STORMCHECK_ALLOWED_TARGETS: expected target"
            " patterns (local:*, kube:NAME, aws:ACCOUNT/REGION), got 'local:a b'",
        ),
        (
            "STORMCHECK_ALLOW_PRODUCTION",
            "perhaps",
            "allow_production from environment STORMCHECK_ALLOW_PRODUCTION: expected true or"
            " false, got 'perhaps'",
        ),
    ],
)
def test_a_wrong_policy_setting_is_one_clear_line(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings("local", env={variable: value})
    assert str(error.value) == message


def test_the_profiles_carry_the_policy() -> None:
    local = load_settings("local", env={})
    assert (local.allowed_targets, local.max_blast_share) == (("local:*",), 1.0)
    kube = load_settings("kubernetes", env={})
    assert (kube.allowed_targets, kube.max_blast_share) == ((), 0.5)
    aws = load_settings("aws", env={})
    assert (aws.allowed_targets, aws.max_blast_share) == ((), 0.34)
    listed = load_settings("local", env={"STORMCHECK_ALLOWED_TARGETS": "local:r-*, kube:staging"})
    assert listed.allowed_targets == ("local:r-*", "kube:staging")
