"""Secrets are referenced, never written: settings resolve them, every writer masks them.

Each writer of the run folder is given a known secret and must write it masked: the run file and
``verdicts.json``, the timeline, the load runner's output (its pump and the files Locust wrote),
the log records of the process. The check itself (:func:`assert_no_secret_in`) must find a
secret in every spelling a writer could use.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest

from stormcheck.errors import ConfigError
from stormcheck.load.runner import _pump
from stormcheck.redaction import (
    MASK,
    Secret,
    install_log_redaction,
    redact,
    redact_bytes,
    redact_files,
    register,
    registered,
    split_password,
)
from stormcheck.runs import ComponentRecord, Lease, Manifest, RunFolder
from stormcheck.settings import describe_settings, load_settings
from stormcheck.testing import assert_no_secret_in
from stormcheck.timeline import EventKind
from stormcheck.verdict import Evidence, Verdict

pytestmark = pytest.mark.unit


def _secret() -> str:
    """A fresh secret with characters that URLs and JSON escape."""
    value = f's3cr/{secrets.token_urlsafe(12)}"+&'
    register(value)
    return value


def test_redact_masks_every_spelling_of_a_known_secret() -> None:
    value = _secret()
    url = f"postgresql://postgres:{json.dumps(value)}@db/shop"
    text = (
        f"raw {value} json {json.dumps({'p': value})} url {url} quoted {value.replace('/', '%2F')}"
    )
    text += f" encoded {quote(value, safe='')}"
    clean = redact(text)
    assert value not in clean and quote(value, safe="") not in clean
    assert json.dumps(value)[1:-1] not in clean
    assert clean.count(MASK) >= 3, clean
    assert redact_bytes(value.encode()) == MASK.encode()


def test_a_secret_too_short_to_mask_safely_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 6 characters"):
        register("abc")
    assert "abc" not in registered()


def test_a_secret_prints_as_its_reference() -> None:
    secret = Secret(name="shop_token", reference="env:SHOP_TOKEN", value="p4ssw0rd-value")
    assert "p4ssw0rd" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "p4ssw0rd-value"


def test_settings_resolve_env_and_file_references_and_register_them(tmp_path: Path) -> None:
    from_env, from_file, from_variable = (secrets.token_urlsafe(16) for _ in range(3))
    (tmp_path / "token").write_text(from_file + "\n", encoding="utf-8")
    profile = tmp_path / "local.toml"
    profile.write_text(
        'profile = "local"\n[secrets]\nshop_token = "env:PLANTED_TOKEN"\napi_key = "file:token"\n',
        encoding="utf-8",
    )
    env = {
        "PLANTED_TOKEN": from_env,
        "PLANTED_OTHER": from_variable,
        "STORMCHECK_SECRET_ALERT_WEBHOOK": "env:PLANTED_OTHER",
    }
    settings = load_settings(profile_file=profile, env=env)
    assert settings.secret("shop_token") == from_env
    assert settings.secret("api_key") == from_file  # the file's trailing newline dropped
    assert settings.secret("alert_webhook") == from_variable
    assert {from_env, from_file, from_variable} <= registered()
    printed = f"{settings!r} {describe_settings(settings)}"
    assert not any(v in printed for v in (from_env, from_file, from_variable)), printed
    assert "env:PLANTED_TOKEN" in printed
    with pytest.raises(ConfigError, match="secret 'db' is not configured"):
        settings.secret("db")


def test_a_secret_reference_in_the_environment_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="STORMCHECK_SECRET_TOKEN: environment variable NOPE"):
        load_settings(env={"STORMCHECK_SECRET_TOKEN": "env:NOPE"})
    with pytest.raises(ConfigError, match="expected a reference") as caught:
        load_settings(env={"STORMCHECK_SECRET_TOKEN": "the-value-itself"})
    assert "the-value-itself" not in str(caught.value)


def _folder(tmp_path: Path) -> RunFolder:
    return RunFolder(tmp_path / "runs" / "r1").create()


def test_the_run_file_keeps_the_generated_password_apart_and_masks_known_secrets(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path)
    password = secrets.token_urlsafe(12)  # as components_for generates it
    other = _secret()
    manifest = Manifest(
        run_id="r1",
        profile="local",
        stack="minimal",
        created_ms=0,
        lease=Lease.for_current_process(),
    )
    manifest.add(
        ComponentRecord(
            name="postgres",
            role="postgres",
            zone="a",
            image="postgres:15",
            container="c",
            endpoints={"postgres": f"postgresql://postgres:{password}@127.0.0.1:5432/shop"},
            ready_s=1.0,
        )
    )
    assert password in registered(), "the run's password is a known secret once recorded"
    manifest.update("postgres", image=f"image-{other}")
    folder.write_manifest(manifest)
    assert_no_secret_in([folder.root], [password, other])
    assert json.loads(folder.credentials_path.read_text())  # the password is kept, apart
    assert password in folder.credentials_path.read_text()
    assert (
        folder.read_manifest().endpoint("postgres").startswith(f"postgresql://postgres:{password}@")
    )


def test_verdicts_and_timeline_mask_known_secrets(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    value = _secret()
    url, _ = split_password(f"http://user:{value}@127.0.0.1:9090")
    folder.write_verdicts(
        [
            Verdict.passed(
                "planted",
                f"queried with {value}",
                Evidence(
                    description="planted",
                    query=f"up{{token={json.dumps(value)}}}",
                    source=url,
                    links=(f"http://x/?t={value}",),
                ),
            )
        ]
    )
    folder.timeline.record(EventKind.NOTE, "planted", token=value, nested={"url": value})
    assert_no_secret_in([folder.verdicts_path, folder.timeline_path], [value])
    assert MASK in folder.timeline_path.read_text()
    assert MASK in folder.verdicts_path.read_text()


def test_the_load_runner_masks_its_output(tmp_path: Path) -> None:
    value = _secret()
    sink, shown = io.StringIO(), list[str]()
    _pump(io.StringIO(f"line with {value}\n"), sink, shown.append, "[main] ")
    assert value not in sink.getvalue() and value not in "".join(shown)
    (tmp_path / "locust_stats.json").write_text(json.dumps({"url": f"/x?token={value}"}))
    (tmp_path / "requests.jsonl").write_text(f'{{"path": "/{value}"}}\n')
    (tmp_path / "clean.csv").write_text("nothing here\n")
    rewritten = redact_files([tmp_path])
    assert sorted(p.name for p in rewritten) == ["locust_stats.json", "requests.jsonl"]
    assert_no_secret_in([tmp_path], [value])


def test_log_records_are_masked_whichever_handler_writes_them() -> None:
    value = _secret()
    install_log_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("stormcheck.planted")
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s", value)
        try:
            raise RuntimeError(f"refused {value}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert value not in stream.getvalue() and MASK in stream.getvalue(), stream.getvalue()


def test_the_check_finds_a_secret_in_any_spelling_and_never_prints_it(tmp_path: Path) -> None:
    value = _secret()
    (tmp_path / "clean.txt").write_text("nothing\n")
    assert assert_no_secret_in([tmp_path], [value]) == 1
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "escaped.json").write_text(json.dumps({"k": value}))
    with pytest.raises(AssertionError, match=r"escaped.json: secret #0") as caught:
        assert_no_secret_in([tmp_path], [value])
    assert value not in str(caught.value)
    with pytest.raises(AssertionError, match="nothing to check"):
        assert_no_secret_in([tmp_path / "absent"], [value])
