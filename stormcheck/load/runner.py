"""Runs Locust in subprocesses only, and collects what it measured.

``import locust`` patches the whole process with gevent, so the engine never imports it: it
starts ``python -m locust`` (a master and N workers on this machine, or one local process),
pinned and held to the load generator's CPU budget, streams its output, and afterwards reads
the request log, Locust's CSV stats and the CPU samples into a :class:`LoadResult`. Ctrl-C stops
Locust cleanly (SIGINT: it writes its stats and judges its thresholds) before returning.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from stormcheck.errors import ConfigError
from stormcheck.load.cpu import CpuBudget, CpuMeter, CpuReport, cpu_limit, qualify_latency
from stormcheck.load.ownership import OWNER_ENV, owner_tag
from stormcheck.load.patterns import PATTERNS, ShapeStage, format_stages, stages_problem
from stormcheck.load.request_records import read_request_log
from stormcheck.load.scenarios import Scenario
from stormcheck.load.thresholds import LATENCY_CHECKS, Thresholds, threshold_checks
from stormcheck.net import free_port
from stormcheck.paths import project_root
from stormcheck.redaction import redact, redact_files
from stormcheck.verdict import Verdict, combine

__all__ = [
    "LoadPlan",
    "LoadResult",
    "LocustTotals",
    "build_commands",
    "read_locust_totals",
    "run_load",
]

Progress = Callable[[str], None]
_STOP_GRACE_S = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadPlan:
    """What to run: a scenario against a host, its model's figures, and how Locust runs."""

    scenario: Scenario
    host: str
    duration_s: float | None = 30.0  # None: until stopped (web UI)
    users: int = 10  # closed model; the peak for a pattern
    spawn_rate: float = 5.0
    rate: float = 10.0  # open model: arrivals per second
    pattern: str = "ramp"  # a built-in pattern's name, or the name of ``stages``
    stages: tuple[ShapeStage, ...] | None = None  # a load-shape file's stages (not ``pattern``'s)
    workers: int = 0  # 0: one local process; N: a master and N workers
    web: bool = False
    web_port: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    budget: CpuBudget = field(default_factory=CpuBudget)
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.host.startswith(("http://", "https://")):
            raise ConfigError(f"load plan: host {self.host!r} is not an http(s):// URL")
        if self.duration_s is None and not self.web:
            raise ConfigError("load plan: a headless run needs a duration")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ConfigError(f"load plan: duration {self.duration_s} s is not > 0")
        if self.workers < 0 or self.users < 1 or self.rate <= 0 or self.spawn_rate <= 0:
            raise ConfigError(
                "load plan: workers >= 0, users >= 1, rate > 0 and spawn rate > 0 expected; got "
                f"{self.workers}, {self.users}, {self.rate}, {self.spawn_rate}"
            )
        if self.stages is None and self.pattern not in PATTERNS:
            raise ConfigError(
                f"load plan: pattern {self.pattern!r} is not one of {', '.join(sorted(PATTERNS))}"
                " and no stages are given"
            )
        problem = None if self.stages is None else stages_problem(self.stages)
        if problem:
            raise ConfigError(f"load plan: shape {self.pattern!r}: {problem}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustTotals:
    """Locust's own aggregated figures (it rounds response times to 2 significant digits)."""

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    """What a run produced: Locust's exit code, the files, the CPU report and the verdict."""

    exit_code: int | None
    interrupted: bool
    request_log: Path
    output_dir: Path
    locust: LocustTotals | None
    cpu: CpuReport
    verdict: Verdict
    web_url: str | None = None


def _model_args(plan: LoadPlan) -> list[str]:
    model = plan.scenario.model
    if model == "open":
        return [
            "--arrival-rate",
            f"{plan.rate:g}",
            "--arrival-generators",
            str(max(1, plan.workers)),
        ]
    if model == "pattern":
        shape = (
            ["--pattern", plan.pattern]
            if plan.stages is None
            else ["--pattern-stages", format_stages(plan.stages)]
        )
        return [
            *shape,
            "--peak-users",
            str(plan.users),
            "--pattern-seconds",
            f"{plan.duration_s or 600:g}",
        ]
    return ["-u", str(plan.users), "-r", f"{plan.spawn_rate:g}"]


def _threshold_args(thresholds: Thresholds) -> list[str]:
    # Locust's options take one number; an absent percentile limit is made unreachable.
    return [
        "--max-error-ratio",
        f"{thresholds.max_error_ratio:g}",
        "--p95-ms",
        f"{thresholds.p95_ms or 1e12:g}",
        "--p99-ms",
        f"{thresholds.p99_ms or 1e12:g}",
    ]


def build_commands(
    plan: LoadPlan, *, request_log: Path, csv_prefix: Path, master_port: int, web_port: int
) -> list[list[str]]:
    """The Locust command lines: the master (or the only process) first, then the workers."""
    base = [sys.executable, "-m", "locust", "-f", str(plan.scenario.path), "--host", plan.host]
    shared = [*_model_args(plan), *_threshold_args(plan.thresholds), *plan.extra_args]
    main = [*base, *shared, "--request-log", str(request_log), "--csv", str(csv_prefix)]
    main += ["--json-file", f"{csv_prefix}_stats"]
    main += ["--stop-timeout", "5", "--exit-code-on-error", "0"]
    if plan.duration_s is not None:
        main += ["-t", f"{plan.duration_s:g}s"]
    if plan.web:
        main += ["--web-host", "127.0.0.1", "--web-port", str(web_port)]
        if plan.duration_s is not None:
            main += ["--autostart", "--autoquit", "0"]
    else:
        main += ["--headless", "--only-summary"]
    if not plan.workers:
        return [main]
    main += [
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(master_port),
        "--expect-workers",
        str(plan.workers),
    ]
    worker = [*base, *shared, "--worker", "--master-host", "127.0.0.1"]
    worker += ["--master-port", str(master_port), "--request-log", os.devnull]
    return [main] + [list(worker) for _ in range(plan.workers)]


def _pump(stream: IO[str], sink: IO[str], progress: Progress, prefix: str) -> None:
    for raw in stream:
        line = redact(raw)
        sink.write(prefix + line)
        sink.flush()
        progress(prefix + line.rstrip("\n"))


def _terminate(processes: Sequence[subprocess.Popen[str]], grace_s: float) -> None:
    """SIGINT, wait, then SIGKILL. Never raises.

    SIGINT, not SIGTERM: headless Locust with a load shape installs its SIGTERM handler only after
    the shape ends, so SIGTERM kills it outright; SIGINT makes every mode shut down cleanly.
    """
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


def _locust_percentile(histogram: dict[float, int], count: int, q: float) -> float:
    """Locust's own percentile method over its rounded histogram (``stats.calculate_...``)."""
    wanted = int(count * q)
    processed = 0
    for value in sorted(histogram, reverse=True):
        processed += histogram[value]
        if count - processed <= wanted:
            return value
    return 0.0


def read_locust_totals(stats_json: Path) -> LocustTotals | None:
    """Locust's own totals from its ``--json-file`` output (None when the file is missing).

    That file is written at shutdown, after the last request (the CSV is written on a timer).
    """
    if not stats_json.exists():
        return None
    try:
        entries = json.loads(stats_json.read_text(encoding="utf-8"))
        histogram: dict[float, int] = {}
        for entry in entries:
            for value, hits in entry["response_times"].items():
                histogram[float(value)] = histogram.get(float(value), 0) + int(hits)
        count = sum(int(e["num_requests"]) for e in entries)
        return LocustTotals(
            requests=count,
            failures=sum(int(e["num_failures"]) for e in entries),
            p50_ms=_locust_percentile(histogram, count, 0.50),
            p95_ms=_locust_percentile(histogram, count, 0.95),
            p99_ms=_locust_percentile(histogram, count, 0.99),
            max_ms=max((float(e["max_response_time"] or 0) for e in entries), default=0.0),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"Locust stats {stats_json}: not Locust's JSON stats ({exc})") from None


def run_load(
    plan: LoadPlan,
    output_dir: Path,
    *,
    request_log: Path | None = None,
    progress: Progress = lambda _line: None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Run ``plan`` to its end (or Ctrl-C, or until ``stop`` is set) and return what it measured.

    The request log goes to ``request_log`` (default ``output_dir/requests.jsonl``); Locust's CSV
    stats, its output and the CPU report go to ``output_dir``. Raises :class:`ConfigError` for a
    bad plan; a Locust that fails shows in ``exit_code`` and the verdict.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    request_log = request_log or output_dir / "requests.jsonl"
    request_log.parent.mkdir(parents=True, exist_ok=True)
    web_port = plan.web_port or free_port()
    commands = build_commands(
        plan,
        request_log=request_log,
        csv_prefix=output_dir / "locust",
        master_port=free_port(),
        web_port=web_port,
    )
    env = {
        **os.environ,
        OWNER_ENV: owner_tag(),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(project_root()), os.environ.get("PYTHONPATH")])
        ),
        "PYTHONUNBUFFERED": "1",
    }
    web_url = f"http://127.0.0.1:{web_port}" if plan.web else None
    interrupted = False
    exit_code: int | None = None
    processes: list[subprocess.Popen[str]] = []
    pumps: list[threading.Thread] = []
    meter = CpuMeter(plan.budget)
    with (
        cpu_limit(plan.budget) as confinement,
        (output_dir / "locust.log").open("w", encoding="utf-8") as sink,
    ):
        try:
            for index, command in enumerate(commands):
                process = subprocess.Popen(
                    command,
                    cwd=project_root(),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    start_new_session=True,  # Ctrl-C reaches the engine, which stops Locust in order
                )
                processes.append(process)
                confinement.add(process.pid)
                meter.watch(process.pid)
                if process.stdout is None:  # pragma: no cover - stdout=PIPE always gives one
                    raise RuntimeError("Popen gave no stdout pipe")
                prefix = "" if index == 0 else f"[worker {index}] "
                pump = threading.Thread(
                    target=_pump, args=(process.stdout, sink, progress, prefix), daemon=True
                )
                pump.start()
                pumps.append(pump)
            meter.start()
            if web_url:
                progress(f"Locust web UI: {web_url}")
            while stop is not None and processes[0].poll() is None:
                if stop.wait(0.5):  # stopped early (from another thread): Locust ends in order
                    _terminate(processes, _STOP_GRACE_S)
            exit_code = processes[0].wait()
            _terminate(processes[1:], _STOP_GRACE_S)
        except KeyboardInterrupt:
            interrupted = True
            progress("interrupted: stopping Locust")
            _terminate(processes, _STOP_GRACE_S)
            exit_code = processes[0].poll() if processes else None
        finally:
            _terminate(processes, 0.5)
            samples = meter.stop()
            for pump in pumps:
                pump.join(timeout=5)
            for process in processes:
                if process.stdout is not None:
                    process.stdout.close()
    cpu = CpuReport(
        budget=plan.budget,
        samples=_during_load(samples, request_log),
        limited_by=confinement.how,
    )
    (output_dir / "cpu.json").write_text(_json(cpu.to_dict()), encoding="utf-8")
    # Locust wrote these in its own process, which knows none of this process's secrets (only
    # its files: the output folder may be the run folder, where others append as we go).
    redact_files([*sorted(output_dir.glob("locust_*")), request_log])
    verdict = _judge(request_log, plan.thresholds, cpu)
    return LoadResult(
        exit_code=exit_code,
        interrupted=interrupted,
        request_log=request_log,
        output_dir=output_dir,
        locust=read_locust_totals(output_dir / "locust_stats.json"),
        cpu=cpu,
        verdict=verdict,
        web_url=web_url,
    )


def _during_load(samples: Sequence[tuple[int, float]], request_log: Path) -> tuple[float, ...]:
    """The samples taken while requests were due (Locust's start-up is not load)."""
    try:
        records = read_request_log(request_log)
    except ConfigError:
        records = []
    if not records:
        return tuple(share for _, share in samples)
    start = min(r.intended_ms for r in records)
    end = max(r.end_ms for r in records) + 1000  # a sample covers the second before it
    return tuple(share for at_ms, share in samples if start < at_ms <= end)


def _judge(request_log: Path, thresholds: Thresholds, cpu: CpuReport) -> Verdict:
    if not request_log.exists():
        return Verdict.inconclusive("load thresholds", f"no request log at {request_log}")
    checks = threshold_checks(read_request_log(request_log), thresholds, source=str(request_log))
    return combine(
        "load thresholds",
        [qualify_latency(c, cpu) if c.name in LATENCY_CHECKS else c for c in checks],
    )


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
