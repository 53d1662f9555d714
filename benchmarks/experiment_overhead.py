"""``experiment_overhead``: ``stormcheck experiment run`` of a no-op experiment against plain
``chaos run`` of the same file, on one full stack started for the benchmark.

What stormcheck adds: the janitor's sweep, the alert sink, a snapshot of the run before and after,
the journal read in order and kept in the run folder. Target: at most 1 s more than ``chaos run``
(median of the repetitions); the benchmark fails above that.

Results: ``benchmarks/results/<UTC date>-experiment_overhead.json``.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.record import record
from stormcheck.local.session import bring_down, bring_up, runs_dir
from stormcheck.settings import load_settings

__all__ = ["LIMIT_S", "bench_experiment_overhead"]

REPEAT = 5
LIMIT_S = 1.0
NOOP = Path(__file__).parent / "data" / "noop_experiment.yaml"


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return elapsed


def bench_experiment_overhead() -> None:
    """Median wall time of both, alternated, on the same run; fails above the limit."""
    settings = dataclasses.replace(load_settings(), stack="full")
    folder, _ = bring_up(settings, owner="process")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "STORMCHECK_RUN": folder.run_id,
        "STORMCHECK_RUNS_DIR": str(runs_dir(settings)),
    }
    subject: list[float] = []
    baseline: list[float] = []
    # what each command costs before it does anything (imports), to tell it from the work
    startup: dict[str, list[float]] = {"stormcheck": [], "chaos": []}
    try:
        with tempfile.TemporaryDirectory(prefix="stormcheck-bench-") as scratch:
            cwd = Path(scratch)
            for _ in range(REPEAT):
                startup["stormcheck"].append(
                    _timed([str(bin_dir / "stormcheck"), "experiment", "--help"], env, cwd)
                )
                startup["chaos"].append(
                    _timed([str(bin_dir / "chaos"), "--no-version-check", "--help"], env, cwd)
                )
                baseline.append(
                    _timed(
                        [
                            str(bin_dir / "chaos"),
                            "--no-version-check",
                            "--no-log-file",
                            "run",
                            "--journal-path",
                            str(cwd / "journal.json"),
                            str(NOOP),
                        ],
                        env,
                        cwd,
                    )
                )
                subject.append(
                    _timed(
                        [
                            str(bin_dir / "stormcheck"),
                            "experiment",
                            "run",
                            str(NOOP),
                            "--run",
                            folder.run_id,
                        ],
                        env,
                        cwd,
                    )
                )
    finally:
        bring_down(settings, folder)
    extra = statistics.median(subject) - statistics.median(baseline)
    startup_extra = statistics.median(startup["stormcheck"]) - statistics.median(startup["chaos"])
    record(
        "experiment_overhead",
        subject,
        baseline,
        "stormcheck experiment run (janitor, alert sink, snapshot before/after, journal read and"
        " kept) vs plain chaos run --no-log-file of the same no-op experiment, same full stack",
        summary=f"overhead {extra:+.2f} s (limit {LIMIT_S:g} s), of which CLI start-up"
        f" {startup_extra:+.2f} s",
        overhead_s=extra,
        startup_s=startup,
        startup_extra_s=startup_extra,
        limit_s=LIMIT_S,
    )
    if extra > LIMIT_S:
        raise SystemExit(
            f"experiment_overhead: {extra:.2f} s more than chaos run (limit {LIMIT_S:g} s)"
        )
