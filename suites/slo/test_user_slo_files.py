"""SLO files as users write them: refused forms (one located line each), Sloth's example shapes,
alert policies, windows as typed on the command line, coverage of a window's end, and typed SLI
evidence read back from old and new ``verdicts.json`` entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.errors import ConfigError
from stormcheck.paths import project_root
from stormcheck.slo.budget import DEFAULT_BURN_ALERTS
from stormcheck.slo.coverage import DataKind, await_coverage
from stormcheck.slo.loader import read_slo_files, read_slos
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import RatioSli
from stormcheck.slo.rules import rule_groups
from stormcheck.slo.window import parse_window
from stormcheck.verdict import Evidence, SliEvidence, Window
from suites.slo.documents import log_slo_document, slo_document

EXAMPLES = project_root() / "platform" / "slo" / "examples"
TOTAL = "http_requests_total"
LOCATED = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+): (?P<field>[\w.\[\]]+): (?P<why>.+)$")


def _good(query: str) -> str:
    return slo_document("shop-availability", good=query, total=TOTAL)


# form -> (document, field, words the reason must hold)
REFUSED: dict[str, tuple[str, str, str]] = {
    "offset": (_good("sum(rate(x_total[5m] offset 1h))"), "good", "offset shifts the range"),
    "at-modifier": (_good("sum(rate(x_total[5m] @ 1700000000))"), "good", "@ pins the range"),
    "subquery": (_good("sum(rate(x_total[5m:1m]))"), "good", "subquery"),
    "histogram-quantile": (
        _good("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))"),
        "good",
        "histogram_quantile gives a percentile",
    ),
    "gauge": (_good("sum(queue_depth)"), "good", "read as a gauge"),
    "gauge-function": (_good("sum(avg_over_time(x_total[5m]))"), "good", "reads a gauge"),
    "average": (_good("avg(rate(x_total[5m]))"), "good", "aggregation avg"),
    "comparison": (_good("sum(rate(x_total[5m])) > 0"), "good", "operator >"),
    "product-of-series": (
        _good("sum(rate(x_total[5m])) * sum(rate(y_total[5m]))"),
        "good",
        "between two series",
    ),
    "other-placeholder": (
        _good("sum(rate(x_total[{{.interval}}]))"),
        "good",
        "placeholder {{.interval}}",
    ),
    "unbalanced-parenthesis": (
        _good("sum(rate(x_total[5m])"),
        "good",
        "unbalanced parenthesis: '(' at column 4",
    ),
    "syntax": (_good("sum(rate(x_total[5m])) +"), "good", "PromQL syntax error"),
    "unsupported-source": (
        _good(TOTAL).replace("type: Prometheus", "type: Datadog", 1),
        "good.metricSource.type",
        "unsupported source type 'Datadog'; supported: Prometheus, OpenSearch, Elasticsearch",
    ),
    "threshold-op-gt": (
        _good(TOTAL).replace(
            "    - target: 0.99", "    - target: 0.99\n      op: gt\n      value: 1"
        ),
        "spec.objectives[0].op",
        "expected lte",
    ),
    "threshold-not-a-bucket": (
        _good(TOTAL)
        .replace("    - target: 0.99", "    - target: 0.99\n      op: lte\n      value: 1")
        .replace(
            "      ratioMetric:\n        counter: true\n        good:\n",
            "      thresholdMetric:\n",
        )
        .split("        total:")[0]
        .replace("\n  " + " " * 8, "\n" + " " * 8),
        "thresholdMetric.metricSource",
        "_bucket series",
    ),
    "alert-policy-ref": (
        _good(TOTAL) + "  alertPolicies:\n    - alertPolicyRef: fast-burn\n",
        "spec.alertPolicies[0].alertPolicyRef",
        "inline the policy",
    ),
    "burn-over-budget": (
        _good(TOTAL)
        + """\
  alertPolicies:
    - kind: AlertPolicy
      spec:
        conditions:
          - kind: AlertCondition
            spec:
              severity: page
              condition: {kind: burnrate, op: gte, threshold: 100, lookbackWindow: 1d}
""",
        "condition.threshold",
        "spends 100 of the budget",
    ),
}


def _one_line(tmp_path: Path, name: str, document: str) -> re.Match[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(document, encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["slo", "validate", "--no-promql", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    match = LOCATED.match(lines[0])
    assert match and match.group("file") == str(path), lines
    return match


@pytest.mark.static
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_form_gets_one_located_line_with_the_reason(tmp_path: Path, case: str) -> None:
    document, field, reason = REFUSED[case]
    match = _one_line(tmp_path, case, document)
    assert field in match.group("field"), match.group(0)
    assert reason in match.group("why"), match.group(0)
    line = document.splitlines()[int(match.group("line")) - 1]
    assert line.strip(), match.group(0)  # points at a line of the document, not past it


@pytest.mark.static
def test_refused_query_points_at_its_own_line(tmp_path: Path) -> None:
    document, _, _ = REFUSED["offset"]
    match = _one_line(tmp_path, "offset", document)
    assert "offset 1h" in document.splitlines()[int(match.group("line")) - 1]


@pytest.mark.static
def test_sloth_getting_started_shape_converts_with_its_alerting() -> None:
    (slo,) = read_slos([EXAMPLES / "sloth-getting-started.yaml"], check_promql=False)
    assert slo.name == "myservice-requests-availability" and slo.service == "myservice"
    assert slo.objective == pytest.approx(0.999) and slo.period == "30d"
    assert isinstance(slo.sli, RatioSli) and slo.sli.good is None
    assert slo.sli.bad is not None and "{{.window}}" in slo.sli.bad
    assert slo.sli.bad_increase("1h") == (
        'sum(increase(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[1h]))'
    )
    (group,) = rule_groups([slo])
    alerts = [r for r in group["rules"] if "alert" in r]
    assert [a["labels"]["severity"] for a in alerts] == ["page", "ticket"]
    page, ticket = alerts
    assert page["labels"]["routing_key"] == "myteam" and page["labels"]["owner"] == "myteam"
    assert ticket["labels"]["slack_channel"] == "#alerts-myteam"
    assert page["annotations"]["summary"] == "High error rate on 'myservice' requests responses"
    assert page["annotations"]["sloth_alert_name"] == "MyServiceHighErrorRate"
    assert page["annotations"]["slo_file"] == "platform/slo/examples/sloth-getting-started.yaml"


@pytest.mark.static
def test_sloth_alerts_disabled_gives_recordings_and_no_alert() -> None:
    (slo,) = read_slos([EXAMPLES / "sloth-no-alerts.yaml"], check_promql=False)
    assert slo.alerts == () and slo.objective == pytest.approx(0.9999)
    (group,) = rule_groups([slo])
    assert not [r for r in group["rules"] if "alert" in r]
    assert any(r.get("record") == "slo:sli_error:ratio_rate5m" for r in group["rules"])


@pytest.mark.static
def test_sloth_raw_ratio_and_plugins_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "raw.yaml"
    path.write_text(
        'version: "prometheus/v1"\nservice: "a"\nslos:\n  - name: "b"\n    objective: 99\n'
        "    sli:\n      raw:\n        error_ratio_query: x\n",
        encoding="utf-8",
    )
    (problem,) = read_slo_files([path], check_promql=False).problems
    assert (problem.line, problem.field) == (7, "slos[0].sli.raw")
    assert "cannot be summed over a window" in problem.message


@pytest.mark.static
def test_alert_policy_maps_to_burn_rate_alerts_and_threshold_to_buckets() -> None:
    availability, latency = read_slos([EXAMPLES / "openslo-expressions.yaml"], check_promql=False)
    assert availability.alerts is not None
    fast, slow = availability.alerts
    assert (fast.severity, fast.long_window_s, fast.short_window_s, fast.for_s) == (
        "page",
        3600,
        300,
        120,
    )
    assert fast.threshold(availability.period_s) == pytest.approx(14.4, rel=1e-12)
    assert (slow.severity, slow.long_window_s, slow.short_window_s) == ("ticket", 259200, 21600)
    assert slow.threshold(availability.period_s) == pytest.approx(1.0, rel=1e-12)
    (group,) = rule_groups([availability])
    page = next(r for r in group["rules"] if r.get("labels", {}).get("severity") == "page")
    assert page["for"] == "2m" and page["annotations"]["alert_policy"] == "checkout-burn"
    assert isinstance(latency.sli, RatioSli) and latency.sli.good is not None
    assert 'le=~"0\\\\.5"' in latency.sli.good and "_bucket" in latency.sli.good
    assert "http_request_duration_seconds_count{" in latency.sli.total
    assert latency.alerts is None  # no policy: the workbook's four conditions
    assert len(rule_groups([latency])[0]["rules"]) == 7 + 2 + 2


@pytest.mark.static
def test_every_generated_burn_rate_alert_has_a_runbook_and_names_its_file() -> None:
    rule_file = project_root() / "platform" / "observability" / "rules" / "slo.rules.yml"
    import yaml

    groups = yaml.safe_load(rule_file.read_text(encoding="utf-8"))["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert len(alerts) == 18
    for alert in alerts:
        assert alert["annotations"]["runbook_url"] == "docs/runbooks/SLOErrorBudgetBurn.md"
        assert alert["annotations"]["slo_file"].startswith("platform/slo/"), alert
        assert (project_root() / alert["annotations"]["slo_file"]).is_file()


NOW_MS = 1_795_690_800_000  # 2026-11-26T11:00:00Z


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1795687200..1795690800", Window(1_795_687_200_000, NOW_MS)),
        ("1795687200000..1795690800000", Window(1_795_687_200_000, NOW_MS)),
        ("2026-11-26T10:00:00Z..1795690800", Window(1_795_687_200_000, NOW_MS)),
    ],
)
def test_window_tells_epoch_seconds_from_milliseconds(text: str, expected: Window) -> None:
    assert parse_window(text, at_ms=NOW_MS) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("179568720..1795690800", "neither epoch seconds"),
        ("1999-12-31T23:59:59Z..1795690800", "before 2000"),
        ("1795690800..1795690801", "in the future"),
        ("2026-11-26T09:00:00..1795690800", "no time zone"),
    ],
)
def test_window_outside_sense_is_an_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_window(text, at_ms=NOW_MS)


class _GrowingStore:
    """A log store whose newest document moves on by 100 ms per question (a pipeline's lag)."""

    name = "opensearch"

    def __init__(self, newest_ms: int) -> None:
        self.newest = newest_ms
        self.asked = 0

    def newest_ms(self, index: str) -> int:
        self.asked += 1
        self.newest += 100
        return self.newest


def _log_slo(tmp_path: Path) -> tuple[object, ...]:
    path = tmp_path / "log.yaml"
    path.write_text(log_slo_document("checkout-log"), encoding="utf-8")
    slos = read_slos([path], check_promql=False)
    assert isinstance(slos[0].sli, LogRatioSli)
    return slos


@pytest.mark.unit
def test_live_coverage_waits_for_the_log_store_to_reach_the_windows_end(tmp_path: Path) -> None:
    slos = _log_slo(tmp_path)
    window = Window(NOW_MS - 120_000, NOW_MS)
    store = _GrowingStore(NOW_MS - 450)  # 450 ms behind: five polls
    ticks = iter(range(1000))
    (coverage,) = await_coverage(
        slos,  # type: ignore[arg-type]
        window,
        None,
        {"opensearch": store},  # type: ignore[dict-item]
        timeout_s=30,
        clock=lambda: float(next(ticks)),
        wall=lambda: NOW_MS / 1000,
        sleep=lambda _: None,
    )
    assert coverage.covers(window) and store.asked == 5, coverage


@pytest.mark.unit
def test_live_coverage_gives_up_at_the_bound(tmp_path: Path) -> None:
    slos = _log_slo(tmp_path)
    window = Window(NOW_MS - 120_000, NOW_MS)
    store = _GrowingStore(NOW_MS - 10_000_000)
    ticks = iter(range(1000))
    (coverage,) = await_coverage(
        slos,  # type: ignore[arg-type]
        window,
        None,
        {"opensearch": store},  # type: ignore[dict-item]
        timeout_s=10,
        clock=lambda: float(next(ticks)),
        wall=lambda: NOW_MS / 1000,
        sleep=lambda _: None,
    )
    assert not coverage.covers(window) and store.asked == 10


@pytest.mark.unit
def test_retained_data_is_not_waited_for_and_a_window_after_it_is_refused(
    tmp_path: Path,
) -> None:
    slos = _log_slo(tmp_path)
    store = _GrowingStore(NOW_MS - 60_000)
    with pytest.raises(ConfigError, match="after the retained data"):
        await_coverage(
            slos,  # type: ignore[arg-type]
            Window(NOW_MS - 120_000, NOW_MS),
            None,
            {"opensearch": store},  # type: ignore[dict-item]
            kind=DataKind.RETAINED,
        )
    assert store.asked == 1


@pytest.mark.unit
def test_sli_evidence_round_trips_and_old_details_are_read_into_it() -> None:
    sli = SliEvidence(slo_file="a.yaml:1", good=995.0, total=1000.0, burn_rate=5.0)
    evidence = Evidence(description="x", sli=sli, details={"settle_ms": 0})
    assert Evidence.from_dict(evidence.to_dict()) == evidence
    old = {
        "description": "x",
        "details": {"slo_file": "a.yaml:1", "good": 995.0, "total": 1000.0, "settle_ms": 0},
    }
    read = Evidence.from_dict(old)
    assert read.sli == SliEvidence(slo_file="a.yaml:1", good=995.0, total=1000.0)
    assert dict(read.details) == {"settle_ms": 0}


@pytest.mark.unit
def test_default_alerts_are_the_workbooks() -> None:
    assert len(DEFAULT_BURN_ALERTS) == 4
