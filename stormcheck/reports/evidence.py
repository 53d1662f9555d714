"""What a report shows, read from a run folder: experiments, alerts, request buckets, verdicts.

Every file is read before anything is written, and a file that cannot be read (a truncated
journal, a verdict file cut short, a request log line that is not JSON) is one
:class:`~stormcheck.errors.ConfigError` naming the file, the place and what was expected.
The judge's ``resilience/<stem>.json`` is used when the run has it; without it, the fault window
comes from the journal (first method action's start to the last rollback's end) and the
experiment's own steady-state probes are its evidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from stormcheck.chaos.journal import JournalReading, read_journal
from stormcheck.errors import ConfigError
from stormcheck.runs import Manifest, RunFolder
from stormcheck.timeline import Event, EventKind
from stormcheck.verdict import Verdict, Window

__all__ = [
    "Alert",
    "Bucket",
    "ExperimentRecord",
    "RunEvidence",
    "journal_fault_window",
    "parse_time_ms",
    "read_run",
]


def parse_time_ms(value: Any, *, where: str) -> int:
    """Epoch milliseconds from an ISO-8601 time with a zone (or a number of ms)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return round(moment.timestamp() * 1000)
    raise ConfigError(f"{where}: expected an ISO-8601 time with a zone, got {value!r}")


def _load_json(path: Path, *, expected: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); expected {expected}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        state = "truncated" if exc.pos >= len(text.rstrip()) else "not valid JSON"
        raise ConfigError(
            f"{path}: {state} at line {exc.lineno} column {exc.colno} ({exc.msg}); expected {expected}"
        ) from None


@dataclass(frozen=True, slots=True)
class Alert:
    """A notification the run's alert sink received: which alert, and when it arrived."""

    name: str
    received_ms: int
    severity: str = ""
    slo: str = ""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One second of the request log (by intended send time): counts and latency percentiles."""

    start_ms: int
    total: int
    good: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def sli(self) -> float:
        """Share of requests that succeeded."""
        return self.good / self.total

    @property
    def error_ratio(self) -> float:
        """Share of requests that failed."""
        return 1 - self.sli


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRecord:
    """One experiment of the run: its journal, its windows, what the sink heard, its result."""

    stem: str
    title: str
    journal_path: Path
    journal: Mapping[str, Any]
    reading: JournalReading
    experiment_file: str
    window: Window
    fault_window: Window
    recovery_ms: int | None
    alerts: tuple[Alert, ...]
    faults: tuple[Mapping[str, Any], ...]
    verdicts: tuple[Verdict, ...]
    missed: frozenset[str]  # names of the judge's verdicts outside their expected outcomes
    resilience: Mapping[str, Any] | None
    tags: tuple[str, ...]
    contributions: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvidence:
    """Everything a report of one run needs, read once."""

    folder: RunFolder
    manifest: Manifest
    experiments: tuple[ExperimentRecord, ...]
    verdicts: tuple[Verdict, ...]
    buckets: tuple[Bucket, ...]
    events: tuple[Event, ...] = field(default=())

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.folder.run_id


def journal_fault_window(journal: Mapping[str, Any], *, where: str) -> Window:
    """From the first method action's start to the last rollback's end (else the method's end).

    A method of probes only spans its probes; a method that never ran (the steady state was not
    met before it) spans the journal itself: such an experiment is still reported.
    """
    ran = list(journal.get("run") or [])
    actions = [a for a in ran if a.get("activity", {}).get("type") == "action"] or ran
    if not actions:
        start = parse_time_ms(journal.get("start"), where=f"{where}: start")
        end = parse_time_ms(journal.get("end"), where=f"{where}: end")
        return Window(start, max(end, start + 1))
    start = parse_time_ms(actions[0].get("start"), where=f"{where}: run[0].start")
    rollbacks = list(journal.get("rollbacks") or [])
    last = rollbacks[-1] if rollbacks else actions[-1]
    field_name = "rollbacks[-1].end" if rollbacks else "run[-1].end"
    end = parse_time_ms(last.get("end"), where=f"{where}: {field_name}")
    return Window(start, max(end, start + 1))


def _window(data: Any, *, where: str) -> Window:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected {{start, end}} as ISO-8601 times, got {data!r}")
    start = parse_time_ms(data.get("start"), where=f"{where}.start")
    end = parse_time_ms(data.get("end"), where=f"{where}.end")
    if end <= start:
        raise ConfigError(f"{where}: ends before it starts")
    return Window(start, end)


def _verdicts(data: Any, *, where: str) -> tuple[Verdict, ...]:
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list of verdicts, got {type(data).__name__}")
    verdicts = []
    for index, item in enumerate(data):
        try:
            verdicts.append(Verdict.from_dict(item))
        except ConfigError as exc:
            raise ConfigError(f"{where}[{index}]: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"{where}[{index}]: expected a verdict (name, outcome, reason), missing or bad {exc}"
            ) from None
    return tuple(verdicts)


def _read_requests(path: Path) -> tuple[Bucket, ...]:
    if not path.exists():
        return ()
    by_second: dict[int, list[tuple[bool, float]]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                second = int(float(record["intended_ms"]) // 1000)
                ok = bool(record["ok"])
                latency = float(record.get("response_ms") or 0.0)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{path}:{number}: expected a request record with intended_ms, ok and"
                    f" response_ms ({type(exc).__name__}: {exc})"
                ) from None
            by_second.setdefault(second, []).append((ok, latency))
    return tuple(_bucket(second, items) for second, items in sorted(by_second.items()))


def _percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (the value below which ``share`` of the values lie)."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _bucket(second: int, items: list[tuple[bool, float]]) -> Bucket:
    latencies = sorted(latency for _, latency in items)
    return Bucket(
        start_ms=second * 1000,
        total=len(items),
        good=sum(1 for ok, _ in items if ok),
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
    )


def _alerts(events: Sequence[Event], window: Window) -> tuple[Alert, ...]:
    return tuple(
        Alert(
            name=e.name,
            received_ms=e.at_ms,
            severity=str(e.attrs.get("severity", "")),
            slo=str(dict(e.attrs.get("labels") or {}).get("slo", "")),
        )
        for e in events
        if e.kind is EventKind.ALERT_FIRING
        and e.attrs.get("source") == "alert-sink"
        and window.start_ms <= e.at_ms <= window.end_ms
    )


def _read_resilience(folder: RunFolder) -> dict[str, Mapping[str, Any]]:
    directory = folder.resilience_dir
    results: dict[str, Mapping[str, Any]] = {}
    if not directory.is_dir():
        return results
    for path in sorted(directory.glob("*.json")):
        data = _load_json(path, expected="a resilience result (format 1)")
        if not isinstance(data, Mapping) or "experiment" not in data:
            raise ConfigError(f"{path}: field experiment: expected a resilience result, missing")
        results[str(data.get("journal") or data["experiment"])] = data
    return results


def _recovery_instant(result: Mapping[str, Any], fault: Window, *, where: str) -> int | None:
    """When users saw the platform recover: ``recover_s`` after the instant the judge counted
    from (``recover_from``: the injection for a kill fault, the revert for a duration fault);
    results written before ``recover_from`` existed count from the fault window's start or end.
    ``None``: not recovered."""
    recover_s = result.get("recover_s")
    if recover_s is None:
        return None
    if not isinstance(recover_s, int | float) or isinstance(recover_s, bool):
        raise ConfigError(f"{where}: recover_s: expected a number of seconds, got {recover_s!r}")
    if result.get("recover_from") is not None:
        origin = parse_time_ms(result["recover_from"], where=f"{where}: recover_from")
        return origin + round(recover_s * 1000)
    kind = dict(result.get("expected") or {}).get("fault", "kill")
    start = fault.end_ms if kind == "duration" else fault.start_ms
    return start + round(recover_s * 1000)


def _experiment(
    folder: RunFolder,
    path: Path,
    events: Sequence[Event],
    resilience: Mapping[str, Mapping[str, Any]],
) -> ExperimentRecord:
    journal = _load_json(path, expected="a Chaos Toolkit journal")
    if not isinstance(journal, Mapping) or not isinstance(journal.get("experiment"), Mapping):
        raise ConfigError(f"{path}: field experiment: expected a Chaos Toolkit journal, missing")
    own = dict(journal.get("stormcheck") or {})
    experiment_file = str(own.get("file") or "")
    stem = Path(experiment_file).stem if experiment_file else path.stem.split("Z-", 1)[-1]
    where = str(path)
    start = parse_time_ms(journal.get("start"), where=f"{where}: start")
    end = parse_time_ms(journal.get("end"), where=f"{where}: end")
    window = Window(start, max(end, start + 1))
    relative = path.relative_to(folder.root).as_posix()
    result = resilience.get(relative) or resilience.get(stem)
    if result is not None:
        # No fault window when nothing was injected (the platform was not ready): the journal's own.
        fault_window = (
            _window(result["fault_window"], where=f"resilience/{stem}.json: fault_window")
            if result.get("fault_window") is not None
            else journal_fault_window(journal, where=where)
        )
        verdicts = _verdicts(result.get("verdicts", []), where=f"resilience/{stem}.json: verdicts")
        recovery_ms = _recovery_instant(result, fault_window, where=f"resilience/{stem}.json")
        missed = frozenset(
            str(v.get("name")) for v in result.get("verdicts", []) if v.get("met") is False
        )
    else:
        fault_window = journal_fault_window(journal, where=where)
        verdicts = ()
        recovery_ms = None
        missed = frozenset()
    faults = tuple(
        dict(e.attrs, name=e.name, at_ms=e.at_ms)
        for e in events
        if e.kind is EventKind.FAULT_START and window.start_ms <= e.at_ms <= window.end_ms
    )
    experiment = journal["experiment"]
    return ExperimentRecord(
        stem=stem,
        title=str(experiment.get("title") or stem),
        journal_path=path,
        journal=journal,
        reading=read_journal(journal),
        experiment_file=experiment_file,
        window=window,
        fault_window=fault_window,
        recovery_ms=recovery_ms,
        alerts=_alerts(events, window),
        faults=faults,
        verdicts=verdicts,
        missed=missed,
        resilience=result,
        tags=tuple(str(t) for t in experiment.get("tags") or ()),
        contributions={
            str(k): str(v) for k, v in dict(experiment.get("contributions") or {}).items()
        },
    )


def read_run(folder: RunFolder) -> RunEvidence:
    """Read every artefact of ``folder`` that a report uses; nothing is written."""
    manifest = folder.read_manifest()
    events = tuple(folder.timeline.events())
    verdicts: tuple[Verdict, ...] = ()
    if folder.verdicts_path.exists():
        verdicts = _verdicts(
            _load_json(folder.verdicts_path, expected="a list of verdicts"),
            where=str(folder.verdicts_path),
        )
    resilience = _read_resilience(folder)
    experiments = tuple(
        _experiment(folder, path, events, resilience)
        for path in sorted(folder.journals_dir.glob("*.json"))
    )
    return RunEvidence(
        folder=folder,
        manifest=manifest,
        experiments=experiments,
        verdicts=verdicts,
        buckets=_read_requests(folder.requests_path),
        events=events,
    )
