"""A real run leaves no secret in clear in its run folder.

Secrets are planted the ways a user provides them — an ``env:`` reference and a ``file:``
reference in the profile file, and a ``STORMCHECK_SECRET_*`` reference in the environment — and
the run generates its own database password. Then the run goes as a user drives it, through the
CLI: ``up`` of the minimal stack, a short ``load``, an experiment whose configuration takes a
secret from the environment and sends it in its probes' requests (so the journal, the timeline
and the run's logs have it in hand), ``down``, ``report`` and the run store's record of the run; and every file of the run folder, the
Allure results and the run store are searched for every secret, as written, URL-encoded and
JSON-escaped
(:func:`stormcheck.testing.assert_no_secret_in`, which the report and run-store checks reuse).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from docker import DockerClient

from stormcheck.runs import RunFolder
from stormcheck.runstore.store import open_store, store_path
from stormcheck.testing import assert_no_secret_in

pytestmark = pytest.mark.integration

STORMCHECK = [sys.executable, "-m", "stormcheck"]

PROBE = (
    "{type: python, module: stormcheck.chaos.local.probes, func: http_status,"
    ' arguments: {path: "/health?token=${shop_token}", component: shop-1, endpoint: api}}'
)
EXPERIMENT = f"""\
title: Does the API answer a request that carries the shop token?
description: Reads the API's health with the shop token (a secret the settings reference).
tags: [local, secrets]
contributions: {{availability: low, latency: none, integrity: none, observability: none}}
configuration:
  stormcheck_run: {{type: env, key: STORMCHECK_RUN, default: ""}}
  shop_token: {{type: env, key: SC_PLANTED_TOKEN}}
controls:
  - name: stormcheck
    provider: {{type: python, module: stormcheck.chaos.control}}
steady-state-hypothesis:
  title: the API answers a request with the token
  probes:
    - {{name: api-answers, type: probe, tolerance: 200, provider: {PROBE}}}
method:
  - {{name: api-answers-again, type: probe, provider: {PROBE}}}
runtime:
  rollbacks: {{strategy: always}}
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*STORMCHECK, *args], capture_output=True, text=True, env=env, check=False, timeout=600
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_planted_secrets_and_the_run_password_are_in_no_file_of_the_run(
    tmp_path: Path, docker_client: DockerClient
) -> None:
    runs = tmp_path / "runs"
    from_env, from_file, from_variable = (f"planted-{secrets.token_urlsafe(12)}" for _ in range(3))
    (tmp_path / "api-key").write_text(from_file + "\n", encoding="utf-8")
    profile = tmp_path / "local.toml"
    profile.write_text(
        f'profile = "local"\nstack = "minimal"\nruns_dir = "{runs}"\n'
        '[secrets]\nshop_token = "env:SC_PLANTED_TOKEN"\napi_key = "file:api-key"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORMCHECK_")}
    env |= {
        "SC_PLANTED_TOKEN": from_env,
        "SC_PLANTED_OTHER": from_variable,
        "STORMCHECK_SECRET_ALERT_WEBHOOK": "env:SC_PLANTED_OTHER",
        "STORMCHECK_PROFILE_FILE": str(profile),
    }
    up = _cli(env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    (run_id,) = [p.name for p in runs.iterdir() if (p / "manifest.json").is_file()]
    folder = RunFolder(runs / run_id)
    try:
        credentials = json.loads(folder.credentials_path.read_text(encoding="utf-8"))
        generated = sorted(set(credentials.values()))
        assert generated, "the run generated no database password"
        load = _cli(
            env,
            "load",
            "shop-open",
            "--run",
            run_id,
            "--rate",
            "5",
            "--duration",
            "10",
            "--p95-ms",
            "5000",
            "--p99-ms",
            "10000",
        )
        assert load.returncode in (0, 1, 2), load.stdout + load.stderr
        assert (folder.root / "requests.jsonl").is_file(), load.stdout + load.stderr
        experiment = tmp_path / "token_probe.yaml"
        experiment.write_text(EXPERIMENT, encoding="utf-8")
        chaos = _cli(env, "experiment", "run", str(experiment), "--run", run_id, "--settle", "1")
        assert chaos.returncode == 0, chaos.stdout + chaos.stderr
        assert list(folder.journals_dir.glob("*-token_probe.json")), chaos.stdout
    finally:
        down = _cli(env, "down", run_id)
    assert down.returncode == 0, down.stdout + down.stderr
    # the evidence that outlives the platform: the report's Allure results and summary, and the
    # run store's rows of this run
    report = _cli(env, "report", run_id, "--no-html")
    assert report.returncode == 0, report.stdout + report.stderr
    store = store_path(runs)
    with open_store(runs) as opened:
        opened.record(folder)
    planted = [from_env, from_file, from_variable, *generated]
    checked = assert_no_secret_in([folder.root], planted)
    assert checked >= 4, f"only {checked} file(s) in {folder.root}"
    results = tmp_path / "allure-results"
    assert assert_no_secret_in([results], planted) >= 2, f"no Allure results in {results}"
    store_files = sorted(store.parent.glob(f"{store.name}*"))  # with any journal or WAL beside it
    assert store in store_files and assert_no_secret_in(store_files, planted) >= 1
    for output in (up, load, chaos, down, report):
        assert not any(p in output.stdout + output.stderr for p in planted)
