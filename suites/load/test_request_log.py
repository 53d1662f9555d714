"""The request log's format, exact percentiles, thresholds and key resolution (no Locust, no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.load.analysis import arrival_rate, percentile, resolve_checkout_keys, summarise
from stormcheck.load.cpu import CpuBudget, CpuReport, qualify_latency
from stormcheck.load.request_records import CheckoutOutcome, read_request_log
from stormcheck.load.thresholds import Thresholds, judge_requests, threshold_checks
from stormcheck.verdict import Outcome
from suites.load.request_builders import checkout_record, record

pytestmark = pytest.mark.unit


def test_percentile_is_the_nearest_rank_of_the_raw_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="not in"):
        percentile(values, 0)


def test_latency_counts_from_the_intended_send_time_not_the_actual_one() -> None:
    records = [record(intended_ms=1000.0 * i, lag_ms=0.0, response_ms=10.0) for i in range(99)]
    records.append(record(intended_ms=200_000.0, lag_ms=2000.0, response_ms=10.0))
    intended = summarise(records, basis="intended")
    sent = summarise(records, basis="sent")
    assert intended.max == 2010.0, intended
    assert sent.max == 10.0, sent  # what a generator that ignores its schedule would report
    assert intended.count == sent.count == 100


def test_the_log_round_trips_and_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    rows = [record(), checkout_record("k1", CheckoutOutcome.SUCCESS, order_id=7)]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in rows), encoding="utf-8")
    assert read_request_log(path) == rows
    broken = dict(rows[0].to_dict())
    del broken["sent_ms"]
    path.write_text(json.dumps(rows[0].to_dict()) + "\n" + json.dumps(broken) + "\n")
    with pytest.raises(ConfigError, match=r"line 2: field 'sent_ms' is missing"):
        read_request_log(path)
    path.write_text('{"name": "x", "ok": "yes"')
    with pytest.raises(ConfigError, match="line 1: not JSON"):
        read_request_log(path)
    with pytest.raises(ConfigError, match="no such file"):
        read_request_log(tmp_path / "absent.jsonl")


def test_thresholds_pass_fail_and_are_inconclusive_without_requests() -> None:
    fast = [record(intended_ms=float(i), response_ms=5.0) for i in range(200)]
    assert judge_requests(fast, Thresholds(), source="t").outcome is Outcome.PASS
    slow = [*fast, *(record(intended_ms=float(i), response_ms=900.0) for i in range(20))]
    verdict = judge_requests(slow, Thresholds(p95_ms=500.0), source="t")
    assert verdict.outcome is Outcome.FAIL and "p95 latency ms" in verdict.reason, verdict.explain()
    failing = [*fast, *(record(ok=False) for _ in range(10))]
    verdict = judge_requests(failing, Thresholds(max_error_ratio=0.01), source="t")
    assert verdict.outcome is Outcome.FAIL and "error ratio" in verdict.reason, verdict.explain()
    assert judge_requests([], Thresholds(), source="t").outcome is Outcome.INCONCLUSIVE


def test_a_busy_generator_makes_latency_inconclusive_but_not_errors() -> None:
    records = [record(intended_ms=float(i), response_ms=5.0) for i in range(100)]
    busy = CpuReport(budget=CpuBudget(cores=0.5), samples=(0.9,) * 6, limited_by="test")
    idle = CpuReport(budget=CpuBudget(cores=0.5), samples=(0.2,) * 6, limited_by="test")
    checks = threshold_checks(records, Thresholds(), source="t")
    latency = [c for c in checks if "latency" in c.name]
    assert all(qualify_latency(c, busy).outcome is Outcome.INCONCLUSIVE for c in latency)
    assert all(qualify_latency(c, idle).outcome is Outcome.PASS for c in latency)
    assert busy.peak_share == pytest.approx(0.9)


def test_arrival_rate_counts_first_attempts_only() -> None:
    arrivals = [record(intended_ms=100.0 * i) for i in range(11)]  # 10/s over 1 s
    retry = checkout_record("k", CheckoutOutcome.SUCCESS, attempt=2, order_id=1)
    assert arrival_rate([*arrivals, retry]) == pytest.approx(10.0)
    assert arrival_rate([*arrivals, retry], basis="intended") == pytest.approx(10.0)


def test_keys_resolve_to_their_final_outcome_and_every_order_id_seen() -> None:
    records = [
        checkout_record("a", CheckoutOutcome.AMBIGUOUS, attempt=1, final=False),
        checkout_record("a", CheckoutOutcome.SUCCESS, attempt=2, order_id=5),
        checkout_record("b", CheckoutOutcome.REJECTED),
        checkout_record("c", CheckoutOutcome.UNKNOWN, attempt=5),
        checkout_record("d", CheckoutOutcome.AMBIGUOUS, final=False),
    ]
    resolution = resolve_checkout_keys(records)
    assert resolution.final == {
        "a": CheckoutOutcome.SUCCESS,
        "b": CheckoutOutcome.REJECTED,
        "c": CheckoutOutcome.UNKNOWN,
    }
    assert resolution.order_ids == {"a": {5}}
    assert resolution.unfinished == ("d",)
