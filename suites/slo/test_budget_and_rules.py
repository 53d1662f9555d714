"""Pure logic of the SLO engine: the budget formula, burn-rate thresholds, rules, windows, helpers."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.errors import BackendError, ConfigError
from stormcheck.slo.assertions import assert_met
from stormcheck.slo.budget import DEFAULT_BURN_ALERTS, budget_spent, burn_rate
from stormcheck.slo.joint import Tolerance, counts_agree
from stormcheck.slo.model import RatioSli, Slo, format_duration, parse_duration
from stormcheck.slo.rules import (
    ALERT_NAME,
    alert_windows,
    prometheus_rule_resource,
    render_rule_file,
    rule_groups,
)
from stormcheck.slo.window import parse_window, window_since
from stormcheck.verdict import Evidence, Outcome, Verdict, Window

pytestmark = pytest.mark.unit

DAY_S = 86400
MONTH_S = 30 * DAY_S


def _slo(objective: float = 0.999, period_s: int = MONTH_S) -> Slo:
    return Slo(
        name="checkout-availability",
        service="checkout",
        description="",
        sli=RatioSli(good='r_total{code!="5xx"}', total="r_total"),
        objective=objective,
        period_s=period_s,
    )


def test_budget_spent_is_the_design_formula() -> None:
    # 1 h at SLI 0.99 against 99.9 % over 30 d: 0.01 * 3600 / (0.001 * 2592000) = 0.013888...
    assert budget_spent(0.99, 3600, 0.999, MONTH_S) == pytest.approx(1 / 72, rel=1e-12)
    assert round(budget_spent(0.99, 3600, 0.999, MONTH_S), 4) == 0.0139
    # A whole period exactly at the objective spends exactly the whole budget.
    assert budget_spent(0.999, MONTH_S, 0.999, MONTH_S) == pytest.approx(1.0, rel=1e-9)
    assert budget_spent(1.0, 3600, 0.999, MONTH_S) == 0.0
    assert burn_rate(0.98, 0.999) == pytest.approx(20.0, rel=1e-9)


@pytest.mark.parametrize(
    ("sli", "window_s", "objective", "period_s"),
    [(1.1, 60, 0.99, DAY_S), (0.9, 0, 0.99, DAY_S), (0.9, 60, 1.0, DAY_S), (0.9, 60, 0.99, -1)],
)
def test_budget_spent_refuses_values_outside_their_range(
    sli: float, window_s: float, objective: float, period_s: float
) -> None:
    with pytest.raises(ValueError, match=r"is not|must be positive"):
        budget_spent(sli, window_s, objective, period_s)


def test_burn_rate_thresholds_for_30_days_equal_the_workbook_table() -> None:
    derived = [
        (a.severity, a.long_window, a.short_window, round(a.threshold(MONTH_S), 10))
        for a in DEFAULT_BURN_ALERTS
    ]
    assert derived == [
        ("page", "1h", "5m", 14.4),
        ("page", "6h", "30m", 6.0),
        ("ticket", "1d", "2h", 3.0),
        ("ticket", "3d", "6h", 1.0),
    ]


def test_rules_record_every_window_and_alert_at_the_derived_error_ratios() -> None:
    (group,) = rule_groups([_slo()])
    records = [r["record"] for r in group["rules"] if "record" in r]
    windows = [format_duration(w) for w in alert_windows()]
    assert windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert records[: len(windows)] == [f"slo:sli_error:ratio_rate{w}" for w in windows]
    alerts = {r["labels"]["severity"]: r for r in group["rules"] if r.get("alert") == ALERT_NAME}
    assert set(alerts) == {"page", "ticket"}
    assert (
        'slo:sli_error:ratio_rate1h{slo="checkout-availability"} > 0.0144' in alerts["page"]["expr"]
    )
    assert (
        'slo:sli_error:ratio_rate30m{slo="checkout-availability"} > 0.006' in alerts["page"]["expr"]
    )
    assert (
        'slo:sli_error:ratio_rate3d{slo="checkout-availability"} > 0.001'
        in alerts["ticket"]["expr"]
    )
    resource = prometheus_rule_resource([_slo()], name="slo", namespace="shop")
    assert resource["kind"] == "PrometheusRule" and resource["spec"]["groups"] == [group]


@pytest.mark.parametrize(("text", "seconds"), [("30d", 2592000), ("5m", 300), ("1w", 604800)])
def test_durations_round_trip(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["", "0d", "1M", "1.5h", "-1h", "1h30m", "d"])
def test_durations_outside_the_grammar_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_windows_parse_from_rfc3339_epoch_ms_and_since() -> None:
    window = parse_window("2026-01-01T00:00:00Z..1767229200000")
    assert window == Window(1_767_225_600_000, 1_767_229_200_000)
    assert window_since("1h", at_ms=1_767_229_200_000) == window
    for bad in ("2026-01-01T00:00:00..2026-01-01T01:00:00Z", "1..0", "yesterday..today", "1000"):
        with pytest.raises(ConfigError):
            parse_window(bad)


class _Count:
    def __init__(self, label: str, value: float | None) -> None:
        self.label, self.query, self._value = label, f"count of {label}", value

    def count(self, window: Window) -> float:
        if self._value is None:
            raise BackendError(f"{self.label} is down")
        return self._value


def test_joint_counts_agree_within_tolerance_or_name_the_missing_side() -> None:
    window = Window(0, 60_000)
    tolerance = Tolerance(absolute=2, relative=0.01)
    ok = counts_agree(
        "5xx vs ERROR", window, _Count("prometheus", 100), _Count("logs", 99), tolerance
    )
    assert ok.outcome is Outcome.PASS, ok.explain()
    bad = counts_agree(
        "5xx vs ERROR", window, _Count("prometheus", 100), _Count("logs", 60), tolerance
    )
    assert bad.outcome is Outcome.FAIL
    assert bad.reason.startswith("logs is missing 40 of the 100 events prometheus saw")
    down = counts_agree(
        "5xx vs ERROR", window, _Count("prometheus", 100), _Count("logs", None), tolerance
    )
    assert down.outcome is Outcome.INCONCLUSIVE and "logs is down" in down.reason


def test_assert_met_shows_the_evidence_and_refuses_inconclusive() -> None:
    evidence = Evidence(description="SLI", query="sum(x)", observed=0.9, objective=0.99)
    with pytest.raises(AssertionError, match=r"(?s)SLI 0.9 below.*query=sum\(x\)"):
        assert_met(Verdict.failed("slo/x", "SLI 0.9 below 0.99", evidence))
    with pytest.raises(AssertionError, match="inconclusive"):
        assert_met([Verdict.passed("a", "ok"), Verdict.inconclusive("b", "no data")])
    allowed = assert_met([Verdict.inconclusive("b", "no data")], allow_inconclusive=True)
    assert allowed.outcome is Outcome.INCONCLUSIVE
    assert assert_met(Verdict.passed("a", "ok")).outcome is Outcome.PASS


def test_client_wraps_an_answer_that_is_not_the_api_json() -> None:
    # The one thing a real Prometheus will not produce on demand: a proxy's HTML error page.
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>bad gateway"))
    with (
        PrometheusClient("http://prometheus.invalid", transport=transport) as client,
        pytest.raises(BackendError, match="not the API's JSON"),
    ):
        client.query("up")
    error = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    transport = httpx.MockTransport(lambda request: httpx.Response(400, text=json.dumps(error)))
    with (
        PrometheusClient("http://prometheus.invalid", transport=transport) as client,
        pytest.raises(BackendError, match=r"HTTP 400 \(bad_data\): parse error"),
    ):
        client.query("up{")


def test_rule_file_yaml_has_no_anchors() -> None:
    other = Slo(
        name="other", service="s", description="", sli=_slo().sli, objective=0.99, period_s=DAY_S
    )
    text = render_rule_file([_slo(), other])
    assert "&id" not in text and "*id" not in text
    assert len(yaml.safe_load(text)["groups"]) == 2
