"""Evidence retention on a real stack: after ``down``, ``gate --run`` gives the verdicts it gave
while the platform was up, from the retained data, and refuses a window outside it at once.

A minimal stack of its own (its run folder in a temporary runs directory): traffic through the
API, the gate over a window while the stack is up, ``stormcheck down`` (which keeps the evidence),
the same gate again on the retained data. The selected SLOs give judged verdicts with counted
events (the API's availability and latency), an inconclusive without samples (the ingress, which
the minimal stack lacks) and an inconclusive without a log store (the log-based one): all three
kinds must come back the same.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stormcheck.cli import main
from stormcheck.local.session import bring_down, bring_up
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder
from stormcheck.settings import Settings

pytestmark = pytest.mark.integration

SLO_DIR = project_root() / "platform" / "slo"
SLOS = (
    "checkout-api-availability",
    "checkout-latency",
    "catalogue-api-availability",
    "catalogue-latency",
    "checkout-availability",  # the ingress: no samples on the minimal stack
    "checkout-log-availability",  # no log store on the minimal stack
)
_TRAFFIC_S = 17.0
# The API's series exist from their first request on: the window starts one scrape interval
# (5 s) after the traffic, so that it holds at least two samples of each (an increase needs two).
_WARM_UP_S = 6
# what the SLOs read: the API, its database and cache, and Prometheus (no exporters, no Alertmanager)
_COMPONENTS = ("postgres", "redis", "shop-1", "prometheus")


@pytest.fixture
def minimal_run(settings: Settings, tmp_path: Path) -> Iterator[tuple[RunFolder, Path]]:
    """A minimal stack of this test's own, in a temporary runs directory; removed at the end."""
    runs = tmp_path / "runs"
    own = dataclasses.replace(settings, stack="minimal", runs_dir=runs)
    folder, _ = bring_up(own, owner="process", only=_COMPONENTS)
    try:
        yield folder, runs
    finally:
        if folder.read_manifest().state == "up":
            bring_down(own, folder)


def _traffic(base_url: str, seconds: float) -> int:
    """Orders and catalogue reads for ``seconds``; the number of answers (all must be < 500)."""
    answers = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            for method, path, body in (
                ("GET", "/api/v1/categories", None),
                ("GET", "/api/v1/products/1", None),
                ("POST", "/api/v1/orders", {"items": [{"product_id": 1, "quantity": 1}]}),
            ):
                answer = client.request(method, path, json=body)
                assert answer.status_code < 500, f"{method} {path}: {answer.status_code}"
                answers += 1
            time.sleep(0.05)
    return answers


def _cli(
    runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
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


def _gate(
    runs: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    run_id: str,
    window: str,
) -> subprocess.CompletedProcess[str]:
    selected = [arg for name in SLOS for arg in ("--slo", name)]
    return _cli(
        runs,
        capsys,
        monkeypatch,
        "gate",
        "--run",
        run_id,
        "--slo-dir",
        str(SLO_DIR),
        *selected,
        "--window",
        window,
        "--coverage-timeout",
        "6",  # the API's series reach the window's end at the next scrape (every 5 s)
        "--json",
    )


def _judged(report: dict[str, Any]) -> dict[str, tuple[object, ...]]:
    """Per verdict: outcome, observed value and the counted events (what must not change)."""
    judged: dict[str, tuple[object, ...]] = {}
    for verdict in report["verdicts"]:
        (evidence,) = verdict["evidence"]
        sli = evidence.get("sli") or {}
        judged[verdict["name"]] = (
            verdict["outcome"],
            evidence.get("observed"),
            sli.get("good"),
            sli.get("total"),
            evidence.get("budget_spent"),
        )
    return judged


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_gate_after_down_gives_the_verdicts_it_gave_while_up(
    minimal_run: tuple[RunFolder, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, runs = minimal_run
    io = (capsys, monkeypatch)
    manifest = folder.read_manifest()
    start_s = int(time.time()) + _WARM_UP_S
    assert _traffic(manifest.endpoint("shop-1", "api"), _TRAFFIC_S) > 0
    end_s = int(time.time())
    window = f"{start_s}..{end_s}"

    live = _gate(runs, *io, manifest.run_id, window)
    # 2: inconclusive (ingress, log store); 1 when the loaded machine made the API miss a
    # latency objective — a verdict like any other, which must come back the same after down
    assert live.returncode in {1, 2}, live.stdout + live.stderr
    while_up = _judged(json.loads(live.stdout))
    counted = [v for v in while_up.values() if v[0] in {"pass", "fail"}]
    assert len(counted) == 4, [v["reason"] for v in json.loads(live.stdout)["verdicts"]]
    assert all(isinstance(v[3], float) and v[3] > 0 for v in counted), while_up

    down = _cli(runs, *io, "down", manifest.run_id)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "evidence: prometheus: " in down.stdout, down.stdout
    assert folder.read_manifest().state == "down"
    kept = json.loads((folder.root / "evidence" / "evidence.json").read_text())
    assert kept["prometheus"]["status"] == "retained", kept
    assert kept["logs"]["status"] == "absent", kept

    retained = _gate(runs, *io, manifest.run_id, window)
    assert retained.returncode == live.returncode, retained.stdout + retained.stderr
    assert "is down: judging its retained evidence" in retained.stderr, retained.stderr
    after_down = _judged(json.loads(retained.stdout))
    assert after_down == while_up

    # A window reaching past the retained data is refused in one line, not waited for. Its end
    # is set from the retained range (a window ending at "now - 1 s" fell inside the retained
    # data when down and this gate came within a second of each other: CI, stop 27), and is
    # in the past when asked, so the refusal is about retention, not about a window to come.
    late_end_s = kept["prometheus"]["end_ms"] // 1000 + 2
    time.sleep(max(0.0, late_end_s + 1 - time.time()))
    started = time.monotonic()
    late = _gate(runs, *io, manifest.run_id, f"{start_s}..{late_end_s}")
    assert time.monotonic() - started < 30, "the refusal must not wait for data"
    line = _one_line_error(late)
    assert "is outside the retained prometheus data" in line, line
    early = _gate(
        runs, *io, manifest.run_id, f"{kept['prometheus']['start_ms'] // 1000 - 60}..{end_s}"
    )
    assert "is outside the retained prometheus data" in _one_line_error(early)
