"""Settings: precedence code defaults < profile file < STORMCHECK_* < command line, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.settings import PROFILES, PROFILES_DIR, Settings, load_settings

pytestmark = pytest.mark.unit


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_code_defaults_apply_when_no_source_sets_a_key(tmp_path: Path) -> None:
    settings = load_settings(profile_file=_profile(tmp_path, ""), env={})
    assert settings.profile == "local"
    assert settings.ready_timeout_s == Settings().ready_timeout_s
    assert settings.image_mode == "auto"


def test_profile_file_beats_code_defaults(tmp_path: Path) -> None:
    path = _profile(tmp_path, "ready_timeout_s = 7\nimage_mode = 'offline'\n")
    settings = load_settings(profile_file=path, env={})
    assert (settings.ready_timeout_s, settings.image_mode) == (7.0, "offline")


def test_environment_beats_profile_file(tmp_path: Path) -> None:
    path = _profile(tmp_path, "ready_timeout_s = 7\n")
    settings = load_settings(profile_file=path, env={"STORMCHECK_READY_TIMEOUT_S": "9.5"})
    assert settings.ready_timeout_s == 9.5


def test_command_line_beats_environment(tmp_path: Path) -> None:
    path = _profile(tmp_path, "ready_timeout_s = 7\n")
    settings = load_settings(
        profile_file=path,
        env={"STORMCHECK_READY_TIMEOUT_S": "9.5"},
        overrides={"ready_timeout_s": "11"},
    )
    assert settings.ready_timeout_s == 11.0


def test_each_profile_file_loads_and_names_its_own_profile() -> None:
    for name in PROFILES:
        assert (PROFILES_DIR / f"{name}.toml").is_file()
        assert load_settings(name, env={}).profile == name


def test_profile_choice_follows_the_same_precedence() -> None:
    assert load_settings(env={}).profile == "local"
    assert load_settings(env={"STORMCHECK_PROFILE": "aws"}).profile == "aws"
    assert load_settings("kubernetes", env={"STORMCHECK_PROFILE": "aws"}).profile == "kubernetes"


def test_environment_url_is_read_without_trailing_slash() -> None:
    env = {"STORMCHECK_PROMETHEUS_URL": "http://127.0.0.1:9090/"}
    assert load_settings(env=env).prometheus_url == "http://127.0.0.1:9090"


def test_settings_are_frozen() -> None:
    settings = load_settings(env={})
    with pytest.raises(AttributeError):
        settings.profile = "aws"  # type: ignore[misc]


def test_bad_value_in_profile_file_names_file_key_and_expectation(tmp_path: Path) -> None:
    path = _profile(tmp_path, "ready_timeout_s = -3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(profile_file=path, env={})
    message = str(caught.value)
    assert "ready_timeout_s" in message and str(path) in message and "> 0" in message


def test_bad_value_in_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"STORMCHECK_IMAGE_MODE": "sideways"})
    message = str(caught.value)
    assert "environment STORMCHECK_IMAGE_MODE" in message
    assert "one of auto, registry, offline" in message and "'sideways'" in message


def test_bad_value_on_command_line_names_the_option() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"prometheus_url": "ftp://x"})
    assert "command line --set prometheus_url" in str(caught.value)
    assert "http(s)://" in str(caught.value)


def test_bad_profile_name_names_its_source() -> None:
    with pytest.raises(
        ConfigError, match=r"environment STORMCHECK_PROFILE: expected one of local, kubernetes, aws"
    ):
        load_settings(env={"STORMCHECK_PROFILE": "moon"})
    with pytest.raises(ConfigError, match=r"command line --profile"):
        load_settings("moon", env={})


def test_unknown_key_in_profile_file_is_refused(tmp_path: Path) -> None:
    path = _profile(tmp_path, "db_password = 'hunter2'\n")
    with pytest.raises(ConfigError, match=r"profile.toml:1: db_password: unknown key"):
        load_settings(profile_file=path, env={})


def test_unknown_command_line_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--set colour: unknown setting"):
        load_settings(env={}, overrides={"colour": "blue"})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _profile(tmp_path, "ready_timeout_s = = 3\n")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_settings(profile_file=path, env={})


def test_profile_file_for_another_profile_is_refused(tmp_path: Path) -> None:
    path = _profile(tmp_path, "profile = 'aws'\n")
    with pytest.raises(ConfigError, match=r"profile = 'aws' but the chosen profile is 'local'"):
        load_settings(profile_file=path, env={})


def test_boolean_from_environment() -> None:
    assert load_settings(env={"STORMCHECK_ALLOW_INCONCLUSIVE": "yes"}).allow_inconclusive is True
    with pytest.raises(ConfigError, match=r"expected true or false, got 'maybe'"):
        load_settings(env={"STORMCHECK_ALLOW_INCONCLUSIVE": "maybe"})


def test_cache_dir_follows_xdg_cache_home() -> None:
    assert load_settings(env={"XDG_CACHE_HOME": "/x/cache"}).cache_dir == Path(
        "/x/cache/stormcheck"
    )
