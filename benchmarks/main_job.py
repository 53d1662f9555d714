"""``main_job``: ``stormcheck run`` (the quick plan, what ``make run`` runs), images cached.

Target: at most 10 minutes wall time, and exit 0 on the healthy platform; either miss fails the
benchmark. The baseline is ``up`` + ``down`` of the full stack in the same run, so the ratio says
what the job adds to bringing the platform up.

Results: ``benchmarks/results/<UTC date>-main_job.json`` (plus the job's exit code and the last
lines of its output).
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.platform_up import _up_down
from benchmarks.record import record
from stormcheck.paths import project_root
from stormcheck.settings import load_settings

__all__ = ["TARGET_S", "bench_main_job"]

TARGET_S = 600.0


def bench_main_job() -> None:
    """One ``stormcheck run`` against one full ``up`` + ``down``; raises above the target."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "stormcheck", "run"],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    baseline, _ = _up_down(load_settings(), "full")
    tail = done.stdout.splitlines()[-12:]
    record(
        "main_job",
        [seconds],
        [baseline],
        "stormcheck run (quick plan) vs up + down of the full stack",
        summary=f"exit {done.returncode}, target {TARGET_S:.0f} s",
        exit_code=done.returncode,
        target_s=TARGET_S,
        output_tail=tail,
    )
    if seconds > TARGET_S or done.returncode != 0:
        raise SystemExit(
            f"main_job: {seconds:.0f} s (target {TARGET_S:.0f} s), exit {done.returncode}:\n"
            + "\n".join(tail)
        )
