"""The gate on a live full stack: a window that ends now is judged on complete data.

With steady traffic through the ingress, ``gate --since 2m`` must give the log-based checkout
SLO a pass or a fail — not ``inconclusive`` because the newest log line is a few milliseconds
older than the window's end (the log pipeline always lags): the gate waits, bounded, for the log
store and Prometheus to cover the window's end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from stormcheck.testing import PlatformRun
from suites.observability.traffic import IngressTraffic

pytestmark = pytest.mark.e2e

_TRAFFIC_S = 130.0  # the 2-minute window must hold traffic from its start


def test_gate_since_2m_on_a_live_stack_judges_the_log_based_slo(
    full_platform: PlatformRun,
) -> None:
    env = {
        **os.environ,
        "STORMCHECK_PROMETHEUS_URL": full_platform.manifest.endpoint("prometheus"),
        "STORMCHECK_LOGSTORE_URL": full_platform.manifest.endpoint("opensearch"),
    }
    with IngressTraffic(full_platform.manifest.endpoint("ingress", "api"), max_s=240) as traffic:
        time.sleep(_TRAFFIC_S)  # the traffic must fill the whole window before it is judged
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "stormcheck",
                "gate",
                "--since",
                "2m",
                "--slo",
                "checkout-log-availability",
                "--slo",
                "checkout-availability",
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode in {0, 1}, done.stdout + done.stderr
    report = json.loads(done.stdout)
    outcomes = {v["name"]: v["outcome"] for v in report["verdicts"]}
    assert outcomes["slo/checkout-log-availability"] in {"pass", "fail"}, report["verdicts"]
    assert outcomes["slo/checkout-availability"] in {"pass", "fail"}, report["verdicts"]
    logged = next(v for v in report["verdicts"] if v["name"].endswith("log-availability"))
    assert logged["evidence"][0]["sli"]["total"] > 0, logged
    assert "coverage:" in done.stderr, done.stderr
    assert sum(traffic.codes.values()) > 0
