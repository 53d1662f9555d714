"""``stormcheck gate`` against a real Prometheus with backfilled ingress counters: exit 0, 1, 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from stormcheck.clients.prometheus import PrometheusClient, Vector
from stormcheck.paths import project_root
from stormcheck.slo.evaluate import evaluate_all, gate_verdict
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.verdict import Outcome, Window, gate_exit_code
from suites.slo.series import at, dataset_openmetrics

pytestmark = pytest.mark.integration

SLO_DIR = project_root() / "platform" / "slo"


@pytest.fixture(scope="module")
def prometheus_url(make_host_prometheus: Callable[[str], Any]) -> str:
    """A host Prometheus holding the dataset (HAProxy counters of the checkout backend)."""
    return str(make_host_prometheus(dataset_openmetrics()).url)


def _gate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STORMCHECK_PROMETHEUS_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "stormcheck", "gate", "--slo-dir", str(SLO_DIR), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _window(start_min: float, end_min: float) -> str:
    return f"{at(start_min)}..{at(end_min)}"


def test_gate_exits_0_when_checkout_availability_holds(prometheus_url: str) -> None:
    done = _gate(prometheus_url, "--slo", "checkout-availability", "--window", _window(30, 90))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout


def test_gate_exits_1_when_the_5xx_burst_breaks_the_objective(prometheus_url: str) -> None:
    done = _gate(
        prometheus_url, "--slo", "checkout-availability", "--window", _window(110, 140), "--json"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    (verdict,) = report["verdicts"]
    evidence = verdict["evidence"][0]
    # 120 steps of 62 good; the burst adds 6 x 5xx on 40 of them.
    assert evidence["sli"]["total"] == pytest.approx(120 * 62 + 40 * 6, rel=1e-9)
    assert evidence["observed"] == pytest.approx(120 * 62 / (120 * 62 + 40 * 6), rel=1e-9)
    assert report["outcome"] == "fail" and report["exit_code"] == 1


def test_gate_exits_2_when_an_slo_has_no_data_unless_allowed(prometheus_url: str) -> None:
    args = (
        "--slo",
        "checkout-availability",
        "--slo",
        "cart-availability",
        "--window",
        _window(30, 90),
    )
    done = _gate(prometheus_url, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cart-availability: INCONCLUSIVE" in done.stdout
    allowed = _gate(prometheus_url, *args, "--allow-inconclusive")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_gate_exits_2_when_prometheus_is_unreachable() -> None:
    done = _gate("http://127.0.0.1:9", "--slo", "checkout-availability", "--since", "1h")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "could not measure" in done.stdout


def test_prometheus_stopped_mid_evaluation_gives_inconclusive_never_pass(
    make_host_prometheus: Callable[[str], Any],
) -> None:
    running = make_host_prometheus(dataset_openmetrics())
    slos = read_slos(slo_files([SLO_DIR]))
    checkout = [s for s in slos if s.name == "checkout-availability"]

    class StopsAfterFirstQuery(PrometheusClient):
        """Stops the real Prometheus process right after answering its first query."""

        def query_vector(self, expr: str, at: float | None = None) -> Vector:
            answer = super().query_vector(expr, at)
            running.stop()
            return answer

    with StopsAfterFirstQuery(running.url, timeout=2) as client:
        # The same SLO twice: the first evaluation is cut off after one query, the second finds
        # nobody at all.
        verdicts = evaluate_all([*checkout, *checkout], Window(at(30), at(90)), client)
    assert [v.outcome for v in verdicts] == [Outcome.INCONCLUSIVE] * 2, verdicts
    overall = gate_verdict(verdicts)
    assert gate_exit_code(overall) == 2


def test_gate_window_in_epoch_seconds_judges_the_intended_window(prometheus_url: str) -> None:
    seconds = f"{at(110) // 1000}..{at(140) // 1000}"
    done = _gate(prometheus_url, "--slo", "checkout-availability", "--window", seconds, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["window"] == {"start_ms": at(110), "end_ms": at(140)}
    (verdict,) = report["verdicts"]
    assert verdict["evidence"][0]["sli"]["total"] == pytest.approx(120 * 62 + 40 * 6, rel=1e-9)


def test_gate_window_in_the_future_is_an_error_not_inconclusive(prometheus_url: str) -> None:
    done = _gate(prometheus_url, "--window", "2026-01-01T00:00:00Z..2999-01-01T00:00:00Z")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "in the future" in done.stderr and "Traceback" not in done.stderr
