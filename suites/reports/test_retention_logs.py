"""Evidence retention of a run's log documents: after ``down``, the log-based SLO is counted again
from the retained documents and gives the verdict it gave while the run's OpenSearch was up.

A run of its own: PostgreSQL, Redis, one API replica, OpenSearch and the log shipper (the log
pipeline of the full stack). Orders go through the API; the gate counts the checkout log SLO
while the run is up; ``stormcheck down`` exports every log document (a scroll) into the run
folder; the gate then loads them into a fresh OpenSearch node and counts again. Two OpenSearch
starts make this a nightly test.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from docker import DockerClient

from stormcheck.cli import main
from stormcheck.local import logstore as log_components
from stormcheck.local.session import bring_down, start_run
from stormcheck.local.stacks import components_for
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder, new_run_id
from stormcheck.settings import Settings

pytestmark = pytest.mark.slow

SLO_ARGS = (
    "--slo-dir",
    str(project_root() / "platform" / "slo"),
    "--slo",
    "checkout-log-availability",
)
_TRAFFIC_S = 20.0


@pytest.fixture
def logged_run(
    settings: Settings, docker_client: DockerClient, tmp_path: Path
) -> Iterator[tuple[RunFolder, Path]]:
    """The API with the log pipeline, a run of this test's own; removed at the end."""
    runs = tmp_path / "runs"
    own = dataclasses.replace(settings, runs_dir=runs, ready_timeout_s=120.0)
    run_id = new_run_id()
    components = [
        *components_for("minimal", only=("postgres", "redis", "shop-1")),
        log_components.opensearch(),
        log_components.shipper(run_id),
    ]
    folder, manifest = start_run(
        own, docker_client, components, stack="minimal+logs", owner="process", run_id=run_id
    )
    try:
        log_components.prepare_log_store(manifest, timeout_s=90).close()
        yield folder, runs
    finally:
        if folder.read_manifest().state == "up":
            bring_down(own, folder)


def _cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, runs: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``stormcheck ARGS`` in this process (the real entry point: exit code, ``error:`` line)."""
    monkeypatch.setenv("STORMCHECK_RUNS_DIR", str(runs))
    monkeypatch.delenv("STORMCHECK_PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("STORMCHECK_LOGSTORE_URL", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), int(exited.value.code or 0), out, err)


def _judged(report: dict[str, Any]) -> list[tuple[object, ...]]:
    return [
        (
            v["name"],
            v["outcome"],
            v["evidence"][0]["observed"],
            v["evidence"][0]["sli"]["good"],
            v["evidence"][0]["sli"]["total"],
        )
        for v in report["verdicts"]
    ]


def test_the_log_slo_after_down_counts_what_it_counted_while_up(
    logged_run: tuple[RunFolder, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, runs = logged_run
    run_id = folder.run_id
    api = folder.read_manifest().endpoint("shop-1", "api")
    started = int(time.time())
    orders = 0
    with httpx.Client(base_url=api, timeout=5) as client:
        while time.time() < started + _TRAFFIC_S:
            answer = client.post(
                "/api/v1/orders", json={"items": [{"product_id": 1, "quantity": 1}]}
            )
            assert answer.status_code < 500, answer.text
            orders += 1
            time.sleep(0.05)
    window = f"{started + 2}..{started + int(_TRAFFIC_S) - 3}"
    io = (capsys, monkeypatch, runs)

    live = _cli(*io, "gate", "--run", run_id, *SLO_ARGS, "--window", window, "--json")
    assert live.returncode in {0, 1}, live.stdout + live.stderr  # judged: pass or fail
    while_up = _judged(json.loads(live.stdout))
    (_, _, _, _, total) = while_up[0]
    assert isinstance(total, int | float) and 0 < total < orders, while_up

    down = _cli(*io, "down", run_id)
    assert down.returncode == 0, down.stdout + down.stderr
    kept = json.loads((folder.root / "evidence" / "evidence.json").read_text())
    assert kept["logs"]["status"] == "retained", kept
    exported = folder.root / "evidence" / kept["logs"]["path"]
    with gzip.open(exported, "rt", encoding="utf-8") as lines:
        documents = [json.loads(line) for line in lines]
    assert len(documents) == kept["logs"]["documents"] > total
    assert {d["_source"].get("run") for d in documents} == {run_id}

    retained = _cli(*io, "gate", "--run", run_id, *SLO_ARGS, "--window", window, "--json")
    assert retained.returncode == live.returncode, retained.stdout + retained.stderr
    assert "log documents loaded" in retained.stderr, retained.stderr
    assert _judged(json.loads(retained.stdout)) == while_up
