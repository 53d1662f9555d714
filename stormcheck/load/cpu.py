"""The load generator's CPU: pinned to one core, held to a budget, and measured.

Two cores are shared by the platform, the load generator and pytest (design §3). Locust is pinned
to one core (CPU affinity, as ``taskset -c``) and, where the machine lets us create a cgroup,
held to ``cores`` of it by a CFS quota. Its use is sampled every second; a generator that used
more than 80 % of its budget was measuring itself, so latency verdicts of that run are
``inconclusive``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stormcheck.verdict import Evidence, Outcome, Verdict

__all__ = [
    "BUSY_SHARE",
    "CpuBudget",
    "CpuConfinement",
    "CpuMeter",
    "CpuReport",
    "cpu_limit",
    "qualify_latency",
]

BUSY_SHARE = 0.8
_CGROUP_V1 = Path("/sys/fs/cgroup/cpu")
_CGROUP_V2 = Path("/sys/fs/cgroup")
_PERIOD_US = 20_000  # short periods: a throttled generator stalls <= 10 ms, not 50 ms


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuBudget:
    """How much CPU the load generator may use: ``cores`` of the one core it is pinned to."""

    cores: float = 0.5
    pin: int | None = field(default_factory=lambda: max(os.sched_getaffinity(0)))

    def __post_init__(self) -> None:
        if not 0 < self.cores <= (os.cpu_count() or 1):
            raise ValueError(f"CPU budget {self.cores} cores is not in (0, {os.cpu_count()}]")


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuReport:
    """What the generator used: 1 s samples as shares of the budget, and how it was held."""

    budget: CpuBudget
    samples: tuple[float, ...]
    limited_by: str  # "cgroup v1 quota", "cgroup v2 quota" or "affinity only"

    @property
    def peak_share(self) -> float:
        """The highest 5 s mean share of the budget (a single busy second is not a verdict)."""
        if not self.samples:
            return 0.0
        width = min(5, len(self.samples))
        return max(
            sum(self.samples[i : i + width]) / width for i in range(len(self.samples) - width + 1)
        )

    @property
    def mean_share(self) -> float:
        """The mean share of the budget over the run."""
        return sum(self.samples) / len(self.samples) if self.samples else 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "budget_cores": self.budget.cores,
            "pinned_core": self.budget.pin,
            "limited_by": self.limited_by,
            "peak_share": round(self.peak_share, 4),
            "mean_share": round(self.mean_share, 4),
            "samples": [round(s, 4) for s in self.samples],
        }


class CpuMeter:
    """Samples the CPU time of a set of processes (and their children) once a second."""

    def __init__(self, budget: CpuBudget, interval_s: float = 1.0) -> None:
        self._budget = budget
        self._interval_s = interval_s
        self._pids: list[int] = []
        self._samples: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)

    def watch(self, pid: int) -> None:
        """Add a process to the measured set."""
        self._pids.append(pid)

    def start(self) -> None:
        """Start sampling in a background thread."""
        self._thread.start()

    def stop(self) -> list[tuple[int, float]]:
        """Stop sampling; the samples: (end of the second, epoch ms; share of the budget)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return list(self._samples)

    def _cpu_seconds(self) -> float:
        total = 0.0
        for pid in list(self._pids):
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                for proc in (process, *process.children(recursive=True)):
                    with contextlib.suppress(psutil.Error):
                        times = proc.cpu_times()
                        total += times.user + times.system
        return total

    def _loop(self) -> None:
        last_cpu, last_wall = self._cpu_seconds(), time.monotonic()
        while not self._stop.wait(self._interval_s):
            cpu, wall = self._cpu_seconds(), time.monotonic()
            if wall > last_wall and cpu >= last_cpu:
                share = (cpu - last_cpu) / (wall - last_wall) / self._budget.cores
                self._samples.append((time.time_ns() // 1_000_000, share))
            last_cpu, last_wall = cpu, wall


class CpuConfinement:
    """Where the generator's processes go: pinned to one core, and in a quota cgroup if any."""

    def __init__(self, budget: CpuBudget, group: Path | None, how: str) -> None:
        self.budget = budget
        self.group = group
        self.how = how

    def add(self, pid: int) -> None:
        """Pin ``pid`` to the budget's core and move it into the cgroup (children inherit both)."""
        if self.budget.pin is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, {self.budget.pin})
        if self.group is not None:
            with contextlib.suppress(OSError):
                (self.group / "cgroup.procs").write_text(str(pid))


@contextlib.contextmanager
def cpu_limit(budget: CpuBudget) -> Iterator[CpuConfinement]:
    """A CFS-quota cgroup for the generator, if one can be made here; removed at the end.

    Cleanup never raises: a cgroup that still has processes stays (the janitor's business).
    """
    group, how = _make_cgroup(budget)
    try:
        yield CpuConfinement(budget, group, how)
    finally:
        if group is not None:
            with contextlib.suppress(OSError):
                group.rmdir()


def _make_cgroup(budget: CpuBudget) -> tuple[Path | None, str]:
    quota = int(budget.cores * _PERIOD_US)
    name = f"stormcheck-load-{os.getpid()}-{secrets.token_hex(3)}"
    if (_CGROUP_V1 / "cpu.cfs_quota_us").exists():
        group = _CGROUP_V1 / name
        try:
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
        else:
            return group, "cgroup v1 quota"
    if "cpu" in _read(_CGROUP_V2 / "cgroup.subtree_control").split():
        group = _CGROUP_V2 / name
        try:
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {_PERIOD_US}")
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
        else:
            return group, "cgroup v2 quota"
    return None, "affinity only"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except OSError:
        return ""


def qualify_latency(verdict: Verdict, cpu: CpuReport) -> Verdict:
    """``verdict`` unchanged, or ``inconclusive`` when the generator ran above 80 % of its budget."""
    if cpu.peak_share <= BUSY_SHARE or verdict.outcome is Outcome.INCONCLUSIVE:
        return verdict
    return Verdict.inconclusive(
        verdict.name,
        f"load generator used {cpu.peak_share:.0%} of its {cpu.budget.cores:g}-core budget "
        f"(above {BUSY_SHARE:.0%}): latency measured the generator itself; was: {verdict.reason}",
        *verdict.evidence,
        Evidence(
            description="load generator CPU (5 s peak share of budget)",
            source="stormcheck.load.cpu",
            observed=cpu.peak_share,
            objective=BUSY_SHARE,
            details=cpu.to_dict(),
        ),
    )
