"""When the fault acted, how soon it was detected, and when users saw the platform recover.

- :func:`fault_windows`: the injection and the revert from the run's timeline (the fault ledger's
  ``fault_start``/``fault_end`` events, else the method action's own start and end), the end of
  the recovery watch (the first activity after the method), and from them the fault window and
  the recovery window of a row's :class:`~stormcheck.judge.expectations.FaultKind`;
- :func:`read_detection_floor`: the detection floor as the resilience issue defines it — scrape
  interval + rule evaluation interval + the rule's ``for`` + Alertmanager's ``group_wait`` — read
  from the configuration the platform is given (:func:`stormcheck.observability.config.config_files`).
  It is the pipeline's delay when the fault lands just after a scrape; a fault that lands just
  before one is seen up to a scrape and an evaluation sooner (``for`` + ``group_wait`` at least);
- :func:`first_alert`: the first matching alert received at the sink after the injection;
- :func:`time_to_recover`: design §4 — the first instant after which every 1 s bucket of the
  request log meets the success ratio and the p95 for 30 s; its precision is the bucket width;
- :func:`client_availability`: the request log's success ratio over a window, as a verdict (it
  needs no Prometheus, so it survives Prometheus down).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from stormcheck.errors import ConfigError
from stormcheck.judge.expectations import ClientObjective, FaultKind, RecoveryRule, Row
from stormcheck.load.analysis import percentile
from stormcheck.load.request_records import RequestRecord
from stormcheck.observability.config import config_files
from stormcheck.slo.budget import budget_spent
from stormcheck.slo.model import parse_duration
from stormcheck.timeline import Event, EventKind
from stormcheck.verdict import Evidence, Verdict, Window

__all__ = [
    "DetectionFloor",
    "FaultWindows",
    "Recovery",
    "client_availability",
    "fault_windows",
    "first_alert",
    "read_detection_floor",
    "time_to_recover",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultWindows:
    """The instants of one experiment (UTC epoch ms) and its two windows."""

    injection_ms: int
    revert_ms: int | None  # None: not reverted before the watch ended (a kill fault)
    watch_end_ms: int
    recover_from_ms: int  # the injection for a kill fault, the revert for a duration fault
    fault: Window
    recovery: Window | None


def _iso_ms(text: Any, what: str) -> int:
    try:
        return round(datetime.fromisoformat(str(text)).timestamp() * 1000)
    except ValueError:
        raise ConfigError(f"journal: {what} {text!r} is not an ISO-8601 time") from None


def _method_actions(journal: Mapping[str, Any]) -> list[str]:
    method = (journal.get("experiment") or {}).get("method") or []
    return [str(a.get("name")) for a in method if a.get("type") == "action"]


def _ended_ms(event: Event) -> int:
    ended = event.attrs.get("ended_ms")
    return int(ended) if isinstance(ended, int) and ended <= event.at_ms else event.at_ms


def fault_windows(
    journal: Mapping[str, Any], events: Sequence[Event], row: Row, *, min_fault_ms: int = 0
) -> FaultWindows | str:
    """The windows of the experiment that wrote ``journal``; a string says why there are none.

    Both kinds are judged alike: the fault window holds the fault and the time the row allows to
    recover from it (``recover_s``), and the recovery window is what users get after that, until
    the watch ends. Time to recover is measured from the injection for a kill fault (its window is
    its recovery limit long) and from the revert for a duration fault (its window lasts until the
    revert plus the recovery limit), so the requests answered late while the platform recovers
    within its limit are judged by that limit, not by the recovery window's SLOs. A row without a
    recovery limit: a kill fault's window lasts the whole watch, a duration fault's ends at the
    revert. Either window is at least ``min_fault_ms``: the judge passes three scrape intervals, so
    that an SLI over the window has the two samples of every series an ``increase`` needs (a 7 s
    window of a 5 s scrape often has one; a 2 s traffic burst has none).
    """
    start_ms = _iso_ms(journal.get("start"), "start")
    end_ms = _iso_ms(journal.get("end"), "end") if journal.get("end") else events[-1].at_ms
    inside = [e for e in events if start_ms <= e.at_ms <= end_ms]
    actions = _method_actions(journal)
    if not actions:
        return "the experiment's method has no action: no fault to judge"
    starts = [e for e in inside if e.kind is EventKind.FAULT_START]
    action_starts = [e for e in inside if e.kind is EventKind.ACTIVITY_START and e.name in actions]
    action_ends = [e for e in inside if e.kind is EventKind.ACTIVITY_END and e.name in actions]
    if starts:
        injection = starts[0].at_ms
        fault_id = starts[0].attrs.get("fault_id")
        ends = [
            e
            for e in inside
            if e.kind is EventKind.FAULT_END and e.attrs.get("fault_id") == fault_id
        ]
        revert: int | None = ends[0].at_ms if ends else None
    elif action_starts:  # an action outside the ledger (e.g. a traffic burst): its own span
        injection = action_starts[0].at_ms
        # the action's own end, not the end of its `pauses.after` (the recovery watch)
        revert = _ended_ms(action_ends[-1]) if action_ends else None
    else:
        return "no fault_start or method action on the timeline within the experiment"
    method_end = action_ends[-1].at_ms if action_ends else injection
    later = [
        e
        for e in inside
        if e.kind is EventKind.ACTIVITY_START and e.at_ms >= method_end and e.name not in actions
    ]
    watch_end = later[0].at_ms if later else end_ms
    if revert is not None and revert > watch_end:
        revert = None  # undone by the rollback, after the watch: a kill fault as far as users saw
    limit = row.limits.recover_s
    allowed = None if limit is None else round(limit * 1000)
    if row.fault is FaultKind.DURATION:
        if revert is None:
            return "a duration fault that was not reverted before the recovery watch ended"
        recover_from = revert
        held = revert + (allowed or 0)
        fault_end = min(watch_end, max(held, injection + min_fault_ms))
    else:
        recover_from = injection
        span = None if allowed is None else max(allowed, min_fault_ms)
        fault_end = watch_end if span is None else min(watch_end, injection + span)
    if fault_end <= injection:
        return f"the fault window is empty (injection {injection}, end {fault_end})"
    recovery = Window(fault_end, watch_end) if watch_end > fault_end else None
    return FaultWindows(
        injection_ms=injection,
        revert_ms=revert,
        watch_end_ms=watch_end,
        recover_from_ms=recover_from,
        fault=Window(injection, fault_end),
        recovery=recovery,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionFloor:
    """The timings an alert goes through, in seconds, from the generated configuration."""

    scrape_s: float
    evaluation_s: float
    group_wait_s: float
    for_s: Mapping[str, float]  # alert name -> its rule's `for`

    def floor_s(self, alerts: Collection[str]) -> float | None:
        """scrape + evaluation + the shortest ``for`` of ``alerts`` + group_wait (None: none known)."""
        known = [self.for_s[a] for a in alerts if a in self.for_s]
        if not known:
            return None
        return self.scrape_s + self.evaluation_s + min(known) + self.group_wait_s


def _seconds(value: Any, where: str) -> float:
    try:
        return float(parse_duration(str(value)))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def read_detection_floor(components: Collection[str]) -> DetectionFloor:
    """The detection timings of a run whose components are ``components``, read from the
    configuration files the platform is given (Prometheus, its rule files, Alertmanager)."""
    files = config_files(components, "http://alert-sink.invalid/")
    prometheus = yaml.safe_load(files["prometheus"]["/etc/prometheus/prometheus.yml"])
    manager = yaml.safe_load(files["alertmanager"]["/etc/alertmanager/alertmanager.yml"])
    glob = prometheus.get("global") or {}
    for_s: dict[str, float] = {}
    for path, content in files["prometheus"].items():
        if not path.startswith("/etc/prometheus/rules/"):
            continue
        for group in (yaml.safe_load(content) or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    given = rule.get("for")
                    for_s[str(rule["alert"])] = (
                        0.0 if given is None else _seconds(given, f"{path}: {rule['alert']}: for")
                    )
    return DetectionFloor(
        scrape_s=_seconds(glob.get("scrape_interval", "1m"), "prometheus.yml: scrape_interval"),
        evaluation_s=_seconds(
            glob.get("evaluation_interval", "1m"), "prometheus.yml: evaluation_interval"
        ),
        group_wait_s=_seconds(
            (manager.get("route") or {}).get("group_wait", "30s"), "alertmanager.yml: group_wait"
        ),
        for_s=for_s,
    )


def first_alert(events: Sequence[Event], alerts: Collection[str], after_ms: int) -> Event | None:
    """The first ``alert_firing`` receipt of one of ``alerts`` at or after ``after_ms``."""
    for event in events:
        if (
            event.kind is EventKind.ALERT_FIRING
            and event.name in alerts
            and event.at_ms >= after_ms
        ):
            return event
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    """Time to recover (None: not within the data), its precision, and the buckets behind it."""

    seconds: float | None
    precision_s: float
    buckets: int
    bad_buckets: int
    first_bad_s: float | None  # offset of the first bucket that missed (None: none missed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seconds": self.seconds,
            "precision_s": self.precision_s,
            "buckets": self.buckets,
            "bad_buckets": self.bad_buckets,
            "first_bad_s": self.first_bad_s,
        }


def _bucket_meets(items: Sequence[RequestRecord], rule: RecoveryRule) -> bool:
    if not items:
        return False  # no answer at all in a second of steady load is not a recovered service
    ok = sum(1 for r in items if r.ok) / len(items)
    p95 = percentile(sorted(r.latency_ms for r in items), 0.95)
    return ok >= rule.min_success_ratio and p95 <= rule.max_p95_ms


def time_to_recover(
    records: Sequence[RequestRecord], start_ms: int, end_ms: int, rule: RecoveryRule
) -> Recovery:
    """Design §4's time to recover from ``start_ms``, judged on requests due before ``end_ms``.

    Requests fall in the bucket of their intended send time (a stalled request counts where the
    user wanted it). ``seconds`` is ``None`` when no run of ``hold_s`` good buckets starts
    within the data.
    """
    width_ms = rule.bucket_s * 1000
    count = max(0, math.floor((end_ms - start_ms) / width_ms))
    buckets: list[list[RequestRecord]] = [[] for _ in range(count)]
    for record in records:
        index = math.floor((record.intended_ms - start_ms) / width_ms)
        if 0 <= index < count:
            buckets[index].append(record)
    meets = [_bucket_meets(b, rule) for b in buckets]
    hold = math.ceil(rule.hold_s / rule.bucket_s)
    found: float | None = None
    run = 0
    # from the end: `run` is the length of the good run starting at `index`; the last index
    # whose run is long enough is the earliest recovery
    for index in range(count - 1, -1, -1):
        run = run + 1 if meets[index] else 0
        if run >= hold:
            found = index * rule.bucket_s
    bad = [i for i, m in enumerate(meets) if not m]
    return Recovery(
        seconds=found,
        precision_s=rule.bucket_s,
        buckets=count,
        bad_buckets=len(bad),
        first_bad_s=bad[0] * rule.bucket_s if bad else None,
    )


def client_availability(
    records: Sequence[RequestRecord], window: Window, objective: ClientObjective, name: str
) -> Verdict:
    """The request log's success ratio over ``window`` (by intended time) against ``objective``."""
    inside = [r for r in records if window.start_ms <= r.intended_ms < window.end_ms]
    base = Evidence(
        description=f"requests the load generator sent in {window.seconds:g} s",
        source="requests.jsonl",
        window=window,
        objective=objective.objective,
    )
    if not inside:
        return Verdict.inconclusive(name, "no request in the window: nothing was measured", base)
    good = sum(1 for r in inside if r.ok)
    sli = good / len(inside)
    spent = budget_spent(sli, window.seconds, objective.objective, objective.period_s)
    evidence = Evidence(
        description=base.description,
        source=base.source,
        window=window,
        observed=sli,
        objective=objective.objective,
        budget_spent=spent,
        details={"good": good, "total": len(inside)},
    )
    summary = f"{good} of {len(inside)} requests succeeded ({spent:.2%} of the budget spent)"
    if sli >= objective.objective:
        return Verdict.passed(
            name, f"SLI {sli:.6f} meets {objective.objective:g}: {summary}", evidence
        )
    return Verdict.failed(
        name, f"SLI {sli:.6f} is below {objective.objective:g}: {summary}", evidence
    )
