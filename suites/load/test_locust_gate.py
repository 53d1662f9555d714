"""Plain ``locust -f load/shop.py --headless`` is a gate: its exit code follows the thresholds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stormcheck.load.analysis import summarise
from stormcheck.load.cpu import CpuBudget
from stormcheck.load.request_records import read_request_log
from stormcheck.paths import project_root
from stormcheck.testing import PlatformRun

pytestmark = pytest.mark.integration


def _plain_locust(host: str, log: Path, *thresholds: str) -> subprocess.CompletedProcess[str]:
    core = CpuBudget().pin
    command = [sys.executable, "-m", "locust", "-f", "load/shop.py", "--headless"]
    command += ["--host", host, "-u", "8", "-r", "8", "-t", "10s", "--only-summary"]
    command += ["--request-log", str(log), *thresholds]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    return subprocess.run(
        command, cwd=project_root(), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("thresholds", "expected_code"),
    [
        pytest.param(("--p95-ms", "2000", "--max-error-ratio", "0.01"), 0, id="met"),
        pytest.param(("--p95-ms", "0.001"), 1, id="p95-breached"),
    ],
)
def test_plain_locust_exit_code_follows_the_thresholds(
    local_platform: PlatformRun, tmp_path: Path, thresholds: tuple[str, ...], expected_code: int
) -> None:
    host = local_platform.manifest.endpoint("shop-1", "api")
    log = tmp_path / "requests.jsonl"
    run = _plain_locust(host, log, *thresholds)
    assert run.returncode == expected_code, run.stdout[-3000:] + run.stderr[-3000:]
    records = read_request_log(log)
    assert summarise(records).count > 0
    if expected_code == 0:
        names = {r.name for r in records}
        journeys = {"GET /api/v1/products?category", "GET /api/v1/products/{id}"}
        journeys |= {"GET /api/v1/products?q", "PUT /api/v1/carts/{cart}/items/{id}"}
        assert journeys <= names, f"journeys missing from the log: {sorted(journeys - names)}"
    assert "load thresholds: " + ("PASS" if expected_code == 0 else "FAIL") in run.stderr, (
        run.stderr[-2000:]
    )
