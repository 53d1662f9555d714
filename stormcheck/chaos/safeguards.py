"""Stop conditions: abort an experiment, and roll it back, when an SLO burns its error budget too
fast or a named alert fires while the fault is on — or when the kill switch is pulled.

Declare them as a control of the experiment::

    controls:
      - name: stormcheck
        provider: {type: python, module: stormcheck.chaos.control}
      - name: stop-conditions
        provider:
          type: python
          module: stormcheck.chaos.safeguards
          arguments:
            interval_s: 2
            conditions:
              - {slo: catalogue-availability, burn_rate: 14.4, window_s: 30}
              - {alert: ShopIngressErrorsHigh}

While the method runs, a thread checks every ``interval_s`` seconds, against the run's Prometheus:

- ``{slo, burn_rate, window_s}``: the SLO's error ratio over the last ``window_s`` seconds divided
  by its error budget (``1 - objective``) is above ``burn_rate`` (no requests in the window: no
  burn);
- ``{alert}``: Prometheus has the alert ``firing`` (``ALERTS{alertstate="firing"}``) — before
  Alertmanager's grouping delay;
- the kill switch (:mod:`stormcheck.chaos.halt`) of the run's runs folder, for every experiment
  that carries the stormcheck control, with or without conditions.

A condition that cannot be checked three times in a row (Prometheus unreachable, a query error)
trips as well: a stop condition that cannot see is not a safeguard.

Why our own control rather than chaostoolkit-addons' ``safeguards``: that package is not in the
lock, and its probes are generic Chaos Toolkit probes run in a thread pool whose tolerances say
nothing of SLOs; ours reads the same SLO files, burn-rate arithmetic and Prometheus client as the
gate, checks the kill switch, and records each sample above the threshold on the run's timeline,
where the judge and the tests read when it tripped. The mechanism is the same as the addon's:
a tripped condition calls :func:`chaoslib.exit.exit_gracefully` (SIGUSR1 to this process), which
interrupts whatever the main thread is doing (an action, a pause) with the rollbacks played.
Only the method is watched: a condition never interrupts the rollbacks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stormcheck.errors import ConfigError, StormcheckError
from stormcheck.runs import RunFolder
from stormcheck.timeline import EventKind

__all__ = [
    "DEFAULT_INTERVAL_S",
    "Monitor",
    "StopCondition",
    "after_method_control",
    "before_experiment_control",
    "before_method_control",
    "cleanup_control",
    "parse_conditions",
    "reset",
    "tripped",
    "unwatch",
    "watch",
]

DEFAULT_INTERVAL_S = 2.0
BLIND_CHECKS = 3  # checks in a row that could not be made before a condition trips
MODULE = "stormcheck.chaos.safeguards"


@dataclass(frozen=True, slots=True, kw_only=True)
class StopCondition:
    """One stop condition: a burn rate of an SLO over a window, or a named alert."""

    kind: Literal["burn_rate", "alert"]
    name: str  # the SLO or the alert
    threshold: float = 0.0  # burn_rate: the largest burn rate allowed
    window_s: int = 30

    def describe(self) -> str:
        """One line: what trips it."""
        if self.kind == "alert":
            return f"alert {self.name} firing"
        return f"{self.name} burn rate over {self.window_s} s above {self.threshold:g}"

    def query(self, slo_dir: Path | None = None) -> str:
        """The PromQL whose value is compared with the threshold (alert: > 0 means firing)."""
        if self.kind == "alert":
            return f'count(ALERTS{{alertname="{self.name}", alertstate="firing"}}) or vector(0)'
        return burn_rate_query(self.name, self.window_s, slo_dir)


def burn_rate_query(slo_name: str, window_s: int, slo_dir: Path | None = None) -> str:
    """PromQL for the burn rate of ``slo_name`` over the last ``window_s`` seconds."""
    from stormcheck.paths import project_root
    from stormcheck.slo.loader import read_slos, slo_files
    from stormcheck.slo.model import RatioSli, format_duration

    folder = slo_dir or project_root() / "platform" / "slo"
    by_name = {s.name: s for s in read_slos(slo_files([folder]))}
    slo = by_name.get(slo_name)
    if slo is None:
        raise ConfigError(
            f"stop condition slo: expected one of {', '.join(sorted(by_name))}, got {slo_name!r}"
        )
    if not isinstance(slo.sli, RatioSli):
        raise ConfigError(
            f"stop condition slo: {slo_name} is measured in the log store; a burn-rate stop"
            " condition needs a Prometheus SLI"
        )
    budget = 1 - slo.objective
    return f"({slo.sli.error_ratio(format_duration(window_s))}) / {budget:.6g}"


def _number(where: str, key: str, value: Any, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > minimum:
        raise ConfigError(f"{where}: {key}: expected a number > {minimum:g}, got {value!r}")
    return float(value)


def parse_conditions(raw: Any, where: str = "stop conditions") -> tuple[StopCondition, ...]:
    """The stop conditions of a safeguards control's ``conditions`` argument (one located
    :class:`ConfigError` for the first that is wrong)."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: expected a non-empty list of conditions, got {raw!r}")
    found = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(
                f"{at}: expected a mapping ({{slo, burn_rate, window_s}} or {{alert}})"
            )
        keys = set(item)
        if keys == {"alert"}:
            name = item["alert"]
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{at}: alert: expected an alert name, got {name!r}")
            found.append(StopCondition(kind="alert", name=name.strip()))
        elif "slo" in keys and keys <= {"slo", "burn_rate", "window_s"} and "burn_rate" in keys:
            name = item["slo"]
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{at}: slo: expected an SLO name, got {name!r}")
            window = _number(at, "window_s", item.get("window_s", 30), minimum=0)
            found.append(
                StopCondition(
                    kind="burn_rate",
                    name=name.strip(),
                    threshold=_number(at, "burn_rate", item["burn_rate"], minimum=0),
                    window_s=math.ceil(window),
                )
            )
        else:
            raise ConfigError(
                f"{at}: expected {{slo, burn_rate[, window_s]}} or {{alert}}, got keys"
                f" {sorted(keys)}"
            )
    return tuple(found)


def _interval(value: Any) -> float:
    return _number("stop conditions", "interval_s", value, minimum=0)


class Monitor:
    """Checks the stop conditions of one run every ``interval_s`` in a thread of its own; trips
    once (see the module)."""

    def __init__(
        self,
        folder: RunFolder,
        conditions: Sequence[StopCondition],
        interval_s: float,
        *,
        trip: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = folder
        self.conditions = tuple(conditions)
        self.interval_s = interval_s
        self.queries = {c: c.query() for c in self.conditions}
        self._trip = trip or _interrupt_main_thread
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stormcheck-stop", daemon=True)
        self.reason: str | None = None
        self._blind = 0

    def start(self) -> None:
        """Start checking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (idempotent); waits for a check under way."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            reason = self.check()
            if reason is not None and not self._stop.is_set():
                self.reason = reason
                self.folder.timeline.record(EventKind.NOTE, "stop condition tripped", reason=reason)
                self._trip(reason)
                return

    def check(self) -> str | None:
        """One round: the reason to stop, or ``None``."""
        from stormcheck.chaos.halt import HALT_FILE, halted_at

        found = halted_at(self.folder.root.parent / HALT_FILE)
        if found is not None:
            return f"kill switch: {found.explain()}"
        if not self.conditions:
            return None
        return self._check_conditions()

    def _check_conditions(self) -> str | None:
        from stormcheck.clients.prometheus import PrometheusClient

        try:
            url = self.folder.read_manifest().endpoint("prometheus")
            with PrometheusClient(url) as prometheus:
                values = {
                    c: prometheus.query_vector(q).single_value() for c, q in self.queries.items()
                }
        except StormcheckError as exc:
            self._blind += 1
            self.folder.timeline.record(
                EventKind.NOTE, "stop condition not checked", error=str(exc), blind=self._blind
            )
            if self._blind >= BLIND_CHECKS:
                return f"stop conditions not checkable {self._blind} times in a row: {exc}"
            return None
        self._blind = 0
        for condition, value in values.items():
            if value is None or math.isnan(value):
                continue  # no requests in the window: nothing burns
            if value > condition.threshold:
                self.folder.timeline.record(
                    EventKind.NOTE,
                    "stop condition above threshold",
                    condition=condition.describe(),
                    value=value,
                    threshold=condition.threshold,
                )
                return f"{condition.describe()} (observed {value:.3g})"
        return None


def _interrupt_main_thread(_reason: str) -> None:
    from chaoslib.exit import exit_gracefully

    exit_gracefully()


# --- one monitor per process, started and stopped by the controls ------------------------------


class _Watching:
    """The process's one monitor, and why the last one tripped."""

    lock = threading.RLock()  # re-entered by a signal handler in the main thread
    monitor: Monitor | None = None
    last_reason: str | None = None


def watch(
    folder: RunFolder,
    conditions: Sequence[StopCondition] = (),
    interval_s: float = DEFAULT_INTERVAL_S,
) -> Monitor:
    """Start watching ``folder``'s run (the kill switch, and ``conditions``); a monitor already
    running takes the new conditions and the shorter interval."""
    with _Watching.lock:
        running = _Watching.monitor
        if running is not None:
            merged = (*running.conditions, *(c for c in conditions if c not in running.conditions))
            interval = min(running.interval_s, interval_s)
            if merged == running.conditions and interval == running.interval_s:
                return running
            running.stop()
            conditions, interval_s = merged, interval
        _Watching.last_reason = None
        _Watching.monitor = Monitor(folder, conditions, interval_s)
        _Watching.monitor.start()
        return _Watching.monitor


def unwatch() -> str | None:
    """Stop watching (idempotent); why the monitor tripped, if it did."""
    with _Watching.lock:
        if _Watching.monitor is not None:
            _Watching.monitor.stop()
            _Watching.last_reason = _Watching.monitor.reason or _Watching.last_reason
            _Watching.monitor = None
        return _Watching.last_reason


def reset() -> None:
    """Forget the last experiment's monitor and why it tripped (a new experiment starts)."""
    unwatch()
    with _Watching.lock:
        _Watching.last_reason = None


def tripped() -> str | None:
    """Why the stop conditions of the current (or last) experiment tripped, if they did."""
    with _Watching.lock:
        running = _Watching.monitor
        return (running.reason if running is not None else None) or _Watching.last_reason


# --- the Chaos Toolkit control ----------------------------------------------------------------


def _folder(configuration: Mapping[str, Any] | None) -> RunFolder:
    from chaoslib.exceptions import InterruptExecution

    from stormcheck.chaos.context import resolve_run

    try:
        return resolve_run(configuration)
    except StormcheckError as exc:
        raise InterruptExecution(f"stormcheck: no run to watch: {exc}") from None


def before_experiment_control(
    context: Any = None,
    conditions: Any = None,
    interval_s: Any = DEFAULT_INTERVAL_S,
    **_: Any,
) -> None:
    """Refuse wrong stop conditions before anything runs (an unknown SLO, a bad number)."""
    from chaoslib.exceptions import InterruptExecution

    try:
        for condition in parse_conditions(conditions, f"{MODULE} conditions"):
            condition.query()
        _interval(interval_s)
    except ConfigError as exc:
        raise InterruptExecution(f"stormcheck: {exc}") from None


def before_method_control(
    context: Any = None,
    conditions: Any = None,
    interval_s: Any = DEFAULT_INTERVAL_S,
    configuration: Mapping[str, Any] | None = None,
    **_: Any,
) -> None:
    """Start checking the stop conditions: the fault is about to be on."""
    from chaoslib.exceptions import InterruptExecution

    try:
        parsed = parse_conditions(conditions, f"{MODULE} conditions")
        watch(_folder(configuration), parsed, _interval(interval_s))
    except ConfigError as exc:
        raise InterruptExecution(f"stormcheck: {exc}") from None


def after_method_control(**_: Any) -> None:
    """Stop checking: the method is over, the rollbacks are not to be interrupted."""
    unwatch()


def cleanup_control() -> None:
    """Stop checking whatever happened."""
    unwatch()
