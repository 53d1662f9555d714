"""Judging one experiment run against its row: a :class:`ResilienceResult`.

The journal is read first, in the experiments' order (steady state before, every activity's
status, then ``deviated``): a platform that was not ready makes the result inconclusive and a
failed activity a harness error — neither is judged further. Then, over the fault window and the
recovery window (:func:`~stormcheck.judge.timing.fault_windows`), each SLO of the row through the
SLO engine, and the request log's own availability verdict; the budget each spent; time to detect
beside its floor; time to recover and its precision; checkout integrity and the ``unknown`` keys.
Every check is a :class:`~stormcheck.verdict.Verdict` with the outcomes the row allows; the
result is met when every verdict is within its allowed set.

The result goes to ``resilience/<experiment>.json`` in the run folder and its verdicts are merged
into ``verdicts.json``; the request log it judged is kept beside it, gzipped, as
``resilience/<experiment>.requests.jsonl.gz`` (the run's ``requests.jsonl`` is rewritten by the
next experiment's load, and a reviewer of a missed row needs the requests that missed it).
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stormcheck.chaos.experiment import ExperimentRun
from stormcheck.chaos.journal import ExperimentOutcome
from stormcheck.errors import ConfigError
from stormcheck.judge.expectations import CLIENT_SLO, Expectations, Row, read_expectations
from stormcheck.judge.timing import (
    DetectionFloor,
    FaultWindows,
    Recovery,
    client_availability,
    fault_windows,
    first_alert,
    read_detection_floor,
    time_to_recover,
)
from stormcheck.judge.writers import judge_single_writer
from stormcheck.load.analysis import resolve_checkout_keys
from stormcheck.load.integrity import OrdersLookup, judge_integrity
from stormcheck.load.request_records import CheckoutOutcome, RequestRecord, read_request_log
from stormcheck.paths import project_root
from stormcheck.runs import RunFolder
from stormcheck.slo.evaluate import QueryClient, evaluate
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.model import Slo
from stormcheck.slo.run_verdicts import merge_verdicts
from stormcheck.timeline import EventKind, iso_ms
from stormcheck.verdict import Evidence, Outcome, Verdict, Window

if TYPE_CHECKING:
    from stormcheck.logstore.store import LogStore

__all__ = ["FORMAT", "Check", "ResilienceResult", "judge_experiment", "write_result"]

FORMAT = 1
_PASS_ONLY = frozenset({Outcome.PASS})
WINDOWS = ("fault", "recovery")


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One verdict of the result and the outcomes the row allows it."""

    verdict: Verdict
    allowed: frozenset[Outcome]
    reason: str = ""

    @property
    def met(self) -> bool:
        """Whether the verdict is one the row allows."""
        return self.verdict.outcome in self.allowed

    def to_dict(self) -> dict[str, Any]:
        """``Verdict.to_dict()`` with the allowed outcomes and whether it met them."""
        return {
            **self.verdict.to_dict(),
            "allowed": sorted(o.value for o in self.allowed),
            "allowed_reason": self.reason,
            "met": self.met,
        }


def _window_dict(window: Window | None) -> dict[str, str] | None:
    if window is None:
        return None
    return {"start": iso_ms(window.start_ms), "end": iso_ms(window.end_ms)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ResilienceResult:
    """The judged outcome of one experiment run (see the module)."""

    experiment: str
    title: str
    journal: str  # relative to the run folder
    outcome: ExperimentOutcome
    row: Row
    checks: tuple[Check, ...]
    fault_window: Window | None = None
    recovery_window: Window | None = None
    detect_s: float | None = None
    detect_floor_s: float | None = None
    recovery: Recovery | None = None
    recover_from_ms: int | None = None  # the instant time to recover counts from
    request_log: str | None = None  # the kept copy of the judged request log, run-relative
    budget_spent: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    unknown_keys: int = 0
    alerts: tuple[tuple[str, int], ...] = ()

    @property
    def met(self) -> bool:
        """Every verdict within its allowed set (integrity included); nothing judged: not met."""
        return bool(self.checks) and all(c.met for c in self.checks)

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """The verdicts of the checks, as ``verdicts.json`` holds them."""
        return tuple(c.verdict for c in self.checks)

    @property
    def recover_s(self) -> float | None:
        """Time to recover in seconds (None: not recovered within the watch, or not measured)."""
        return None if self.recovery is None else self.recovery.seconds

    def missed(self) -> list[Check]:
        """The checks whose verdict is outside the allowed set."""
        return [c for c in self.checks if not c.met]

    def to_dict(self) -> dict[str, Any]:
        """The ``resilience/<experiment>.json`` document (format 1)."""
        return {
            "format": FORMAT,
            "experiment": self.experiment,
            "title": self.title,
            "journal": self.journal,
            "outcome": self.outcome.value,
            "fault_window": _window_dict(self.fault_window),
            "recovery_window": _window_dict(self.recovery_window),
            "verdicts": [c.to_dict() for c in self.checks],
            "expected": self.row.to_dict(),
            "met": self.met,
            "detect_s": self.detect_s,
            "detect_floor_s": self.detect_floor_s,
            "recover_s": self.recover_s,
            "recover_precision_s": None if self.recovery is None else self.recovery.precision_s,
            "recovery": None if self.recovery is None else self.recovery.to_dict(),
            "recover_from": None if self.recover_from_ms is None else iso_ms(self.recover_from_ms),
            "request_log": self.request_log,
            "budget_spent": {k: dict(v) for k, v in self.budget_spent.items()},
            "unknown_keys": self.unknown_keys,
            "alerts": [{"name": n, "received_at": iso_ms(at)} for n, at in self.alerts],
            "remediation": self.row.remediation,
            "runbook": self.row.runbook,
        }

    def explain(self) -> str:
        """A few lines for a human: met or not, the figures, and every check that missed."""
        head = "MET" if self.met else "NOT MET"

        def num(value: float | None, unit: str = " s") -> str:
            return "-" if value is None else f"{value:.1f}{unit}"

        lines = [
            f"{self.experiment}: {head} (journal {self.outcome.value})",
            f"  detect {num(self.detect_s)} (floor {num(self.detect_floor_s)}),"
            f" recover {num(self.recover_s)}"
            f" (precision {num(None if self.recovery is None else self.recovery.precision_s)}),"
            f" unknown keys {self.unknown_keys}",
        ]
        for check in self.checks:
            mark = "ok  " if check.met else "MISS"
            allowed = "|".join(sorted(o.value for o in check.allowed))
            lines.append(
                f"  {mark} {check.verdict.name}: {check.verdict.outcome.value}"
                f" (allowed {allowed}) - {check.verdict.reason}"
            )
        if not self.met:
            lines.append(f"  remediation: {self.row.remediation} (runbook {self.row.runbook})")
        return "\n".join(lines)


def _renamed(verdict: Verdict, name: str) -> Verdict:
    return replace(verdict, name=name)


def _journal_check(prefix: str, result: ExperimentRun, row: Row) -> Check:
    reading = result.reading
    name = f"{prefix}/journal"
    why = "; ".join(reading.reasons)
    if reading.outcome is ExperimentOutcome.INCONCLUSIVE:
        verdict = Verdict.inconclusive(name, f"not measured: {why}")
    elif reading.outcome is ExperimentOutcome.ERROR:
        verdict = Verdict.failed(name, f"harness error: {why}")
    elif reading.outcome.value in row.journal:
        verdict = Verdict.passed(name, f"{reading.outcome.value}: {why}")
    else:
        verdict = Verdict.failed(
            name,
            f"{reading.outcome.value}, expected {' or '.join(sorted(row.journal))}: {why}",
        )
    return Check(verdict=verdict, allowed=_PASS_ONLY, reason=row.journal_reason)


def _limit(name: str, measured: float | None, limit: float, what: str, extra: str = "") -> Verdict:
    evidence = Evidence(description=what, observed=measured, objective=limit)
    if measured is None:
        return Verdict.failed(
            name, f"{what}: not within the watch (limit {limit:g} s){extra}", evidence
        )
    if measured <= limit:
        return Verdict.passed(name, f"{what} {measured:.1f} s <= {limit:g} s{extra}", evidence)
    return Verdict.failed(name, f"{what} {measured:.1f} s > {limit:g} s{extra}", evidence)


def _span_records(
    records: Sequence[RequestRecord], start_ms: int, end_ms: int
) -> list[RequestRecord]:
    """Every record of a checkout key tried in the span, and every other record in it."""
    keys = {
        r.checkout.key
        for r in records
        if r.checkout is not None and start_ms <= r.intended_ms < end_ms
    }
    return [
        r
        for r in records
        if (r.checkout is not None and r.checkout.key in keys)
        or (r.checkout is None and start_ms <= r.intended_ms < end_ms)
    ]


def judge_experiment(
    folder: RunFolder,
    result: ExperimentRun,
    row: Row,
    *,
    expectations: Expectations | None = None,
    prometheus: QueryClient | None = None,
    logs: LogStore | Mapping[str, LogStore] | None = None,
    orders: OrdersLookup | None = None,
    slos: Sequence[Slo] | None = None,
    floor: DetectionFloor | None = None,
    write: bool = True,
    now_s: float | None = None,
) -> ResilienceResult:
    """Judge ``result`` (an experiment run in ``folder``) against ``row``; see the module.

    ``prometheus``/``logs`` answer the SLOs (``None``: their verdicts are ``inconclusive``, as
    with a backend that is down); ``orders`` gives the orders stored per idempotency key
    (``None``: integrity is ``inconclusive``); ``slos`` defaults to ``platform/slo``; ``floor``
    to the timings of the run's generated configuration. With ``write``, the result is written
    to ``resilience/<experiment>.json`` and its verdicts merged into ``verdicts.json``.
    """
    expected = expectations or read_expectations()
    journal = json.loads(result.journal_path.read_text(encoding="utf-8"))
    prefix = f"resilience/{row.experiment}"
    title = str((journal.get("experiment") or {}).get("title", row.experiment))
    try:
        journal_name = str(result.journal_path.relative_to(folder.root))
    except ValueError:
        journal_name = str(result.journal_path)
    base = ResilienceResult(
        experiment=row.experiment,
        title=title,
        journal=journal_name,
        outcome=result.reading.outcome,
        row=row,
        checks=(_journal_check(prefix, result, row),),
    )
    if result.reading.outcome in (ExperimentOutcome.INCONCLUSIVE, ExperimentOutcome.ERROR):
        return _finish(folder, base, write)
    events = folder.timeline.events()
    if floor is None:
        floor = read_detection_floor(folder.read_manifest().components)
    windows = (
        fault_windows(journal, events, row, min_fault_ms=round(3 * floor.scrape_s * 1000))
        if events
        else "the run's timeline is empty"
    )
    if isinstance(windows, str):
        check = Check(
            verdict=Verdict.inconclusive(f"{prefix}/windows", f"no fault window: {windows}"),
            allowed=_PASS_ONLY,
        )
        return _finish(folder, replace(base, checks=(*base.checks, check)), write)

    records = read_request_log(folder.requests_path) if folder.requests_path.exists() else []
    checks = list(base.checks)
    spent: dict[str, dict[str, float | None]] = {}
    checks += _slo_checks(
        prefix,
        row,
        windows,
        records=records,
        expected=expected,
        prometheus=prometheus,
        logs=logs,
        slos=slos,
        spent=spent,
        now_s=now_s,
    )

    # time to detect, beside its floor
    alert = first_alert(events, row.alerts, windows.injection_ms)
    detect_s = None if alert is None else (alert.at_ms - windows.injection_ms) / 1000
    floor_s = floor.floor_s(row.alerts)
    if row.limits.detect_s is not None:
        checks.append(
            Check(
                verdict=_limit(
                    f"{prefix}/detect",
                    detect_s,
                    row.limits.detect_s,
                    "time to detect" + ("" if alert is None else f" ({alert.name})"),
                    "" if floor_s is None else f"; floor {floor_s:g} s",
                ),
                allowed=_PASS_ONLY,
            )
        )

    # time to recover
    recovery = time_to_recover(
        records, windows.recover_from_ms, windows.watch_end_ms, expected.recovery
    )
    if row.limits.recover_s is not None:
        start = "injection" if windows.recover_from_ms == windows.injection_ms else "revert"
        checks.append(
            Check(
                verdict=_limit(
                    f"{prefix}/recover",
                    recovery.seconds,
                    row.limits.recover_s,
                    f"time to recover from the {start}",
                    f" (+/- {recovery.precision_s:g} s; {recovery.bad_buckets} of"
                    f" {recovery.buckets} buckets missed)",
                ),
                allowed=_PASS_ONLY,
            )
        )

    # error budget
    if row.limits.budget is not None:
        checks.append(Check(verdict=_budget(prefix, row, spent), allowed=_PASS_ONLY))

    # integrity and unknown keys
    span = _span_records(records, windows.injection_ms, windows.watch_end_ms)
    if orders is None:
        integrity = Verdict.inconclusive(
            "checkout integrity", "no database to read the orders from"
        )
    else:
        integrity = judge_integrity(span, orders)
    checks.append(Check(verdict=_renamed(integrity, f"{prefix}/integrity"), allowed=_PASS_ONLY))
    unknown = len(resolve_checkout_keys(span).keys_with(CheckoutOutcome.UNKNOWN))

    # never two writable PostgreSQL members (the background sampler's rounds in the journal)
    if row.single_writer:
        writers = judge_single_writer(f"{prefix}/single-writer", journal)
        checks.append(Check(verdict=writers, allowed=_PASS_ONLY))

    received = tuple(
        (e.name, e.at_ms)
        for e in events
        if e.kind is EventKind.ALERT_FIRING and windows.injection_ms <= e.at_ms
    )
    judged = replace(
        base,
        checks=tuple(checks),
        fault_window=windows.fault,
        recovery_window=windows.recovery,
        detect_s=detect_s,
        detect_floor_s=floor_s,
        recovery=recovery,
        recover_from_ms=windows.recover_from_ms,
        request_log=_keep_request_log(folder, row.experiment) if write else None,
        budget_spent=spent,
        unknown_keys=unknown,
        alerts=received,
    )
    return _finish(folder, judged, write)


def _slo_checks(
    prefix: str,
    row: Row,
    windows: FaultWindows,
    *,
    records: Sequence[RequestRecord],
    expected: Expectations,
    prometheus: QueryClient | None,
    logs: LogStore | Mapping[str, LogStore] | None,
    slos: Sequence[Slo] | None,
    spent: dict[str, dict[str, float | None]],
    now_s: float | None,
) -> list[Check]:
    wanted = [s.slo for s in row.slos if s.slo != CLIENT_SLO]
    by_name: dict[str, Slo] = {}
    if wanted:
        defined = (
            slos
            if slos is not None
            else read_slos(slo_files([project_root() / "platform" / "slo"]), check_promql=False)
        )
        by_name = {s.name: s for s in defined}
        unknown = sorted(set(wanted) - set(by_name))
        if unknown:
            raise ConfigError(
                f"{expected.path}: rows.{row.experiment}.slos: no SLO named {unknown};"
                f" expected one of {', '.join(sorted(by_name))} or {CLIENT_SLO}"
            )
    checks = []
    for expectation in row.slos:
        spent[expectation.slo] = {}
        for label in WINDOWS:
            window = windows.fault if label == "fault" else windows.recovery
            name = f"{prefix}/{expectation.slo}@{label}"
            if window is None:
                verdict = Verdict.inconclusive(name, f"no {label} window (the watch ended first)")
            elif expectation.slo == CLIENT_SLO:
                verdict = client_availability(records, window, expected.client, name)
            else:
                slo = by_name[expectation.slo]
                store: LogStore | None = None
                if isinstance(logs, Mapping):
                    backend = getattr(slo.sli, "backend", None)
                    store = logs.get(str(backend)) if backend is not None else None
                else:
                    store = logs
                verdict = _renamed(evaluate(slo, window, prometheus, logs=store, now_s=now_s), name)
            spent[expectation.slo][label] = next(
                (e.budget_spent for e in verdict.evidence if e.budget_spent is not None), None
            )
            checks.append(
                Check(
                    verdict=verdict,
                    allowed=expectation.allowed(label),
                    reason=expectation.reason,
                )
            )
    return checks


def _budget(prefix: str, row: Row, spent: Mapping[str, Mapping[str, float | None]]) -> Verdict:
    limit = row.limits.budget
    assert limit is not None
    name = f"{prefix}/budget"
    totals: dict[str, float] = {}
    unmeasured = []
    for slo in row.budget_slos:
        parts = [spent.get(slo, {}).get(label) for label in WINDOWS]
        if any(p is None for p in parts):
            unmeasured.append(slo)
            continue
        totals[slo] = sum(p for p in parts if p is not None)
    evidence = Evidence(
        description="error budget spent over the fault and recovery windows, per SLO",
        observed=max(totals.values()) if totals else None,
        objective=limit,
        budget_spent=max(totals.values()) if totals else None,
        details={"spent": totals, "unmeasured": unmeasured},
    )
    over = {k: v for k, v in totals.items() if v > limit}
    listing = ", ".join(f"{k} {v:.3%}" for k, v in totals.items())
    if over:
        return Verdict.failed(name, f"budget spent over {limit:.2%}: {listing}", evidence)
    if unmeasured:
        return Verdict.inconclusive(
            name, f"budget of {', '.join(unmeasured)} not measured; {listing}", evidence
        )
    return Verdict.passed(name, f"budget spent within {limit:.2%}: {listing}", evidence)


def write_result(folder: RunFolder, result: ResilienceResult) -> Path:
    """Write ``resilience/<experiment>.json`` and merge the verdicts into ``verdicts.json``."""
    target = folder.resilience_dir / f"{result.experiment}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    try:
        existing = folder.read_verdicts()
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{folder.verdicts_path}: not a verdicts file ({exc}); not overwriting it"
        ) from None
    folder.write_verdicts(merge_verdicts(existing, result.verdicts))
    return target


def _keep_request_log(folder: RunFolder, experiment: str) -> str | None:
    """Copy the judged request log to ``resilience/<experiment>.requests.jsonl.gz``; its path
    relative to the run folder (``None``: the run has no request log)."""
    if not folder.requests_path.exists():
        return None
    target = folder.resilience_dir / f"{experiment}.requests.jsonl.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    with folder.requests_path.open("rb") as source, gzip.open(target, "wb") as kept:
        shutil.copyfileobj(source, kept)
    return target.relative_to(folder.root).as_posix()


def _finish(folder: RunFolder, result: ResilienceResult, write: bool) -> ResilienceResult:
    if write:
        write_result(folder, result)
    return result
