"""The Target seam: the local profile has its target; the others refuse, never run locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from stormcheck.cli import main
from stormcheck.errors import PlatformError
from stormcheck.local.session import bring_up
from stormcheck.runs import Lease, Manifest
from stormcheck.settings import load_settings
from stormcheck.targets import Target, TargetUnavailableError, open_target
from stormcheck.targets.local import LocalTarget

pytestmark = pytest.mark.unit


def test_the_local_profile_opens_the_local_target() -> None:
    target: Target = open_target(load_settings("local"))
    assert isinstance(target, LocalTarget) and target.profile == "local"
    manifest = Manifest(
        run_id="r1",
        profile="local",
        stack="minimal",
        created_ms=1,
        lease=Lease.for_current_process(),
    )
    manifest.network = "stormcheck-r1"
    scope = target.fault_scope(manifest)
    assert (scope.kind, scope.place, dict(scope.selector)) == (
        "docker",
        "stormcheck-r1",
        {"stormcheck.run": "r1"},
    )


@pytest.mark.parametrize("profile", ["kubernetes", "aws"])
def test_a_profile_without_a_target_is_refused_in_one_line(profile: str) -> None:
    with pytest.raises(TargetUnavailableError) as refused:
        open_target(load_settings(profile))
    message = str(refused.value)
    assert "\n" not in message
    assert f"profile {profile!r}: its target is not yet available" in message
    assert "--profile local" in message


@pytest.mark.parametrize("profile", ["kubernetes", "aws"])
def test_up_with_a_remote_profile_exits_3_and_starts_nothing(
    profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--profile", profile, "--set", f"runs_dir={tmp_path}", "up"])
    assert caught.value.code == 3
    assert "its target is not yet available" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no run folder: refused before anything started


def test_the_local_engine_refuses_to_serve_another_profile(tmp_path: Path) -> None:
    settings = load_settings("aws", overrides={"runs_dir": str(tmp_path)})
    with pytest.raises(PlatformError, match="serves the local profile, not 'aws'"):
        bring_up(settings, owner="process")
