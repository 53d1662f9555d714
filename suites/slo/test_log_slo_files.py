"""Log-based SLO files: the OpenSearch metric source is read field by field, each fault located."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.slo.loader import read_slo_files
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.rules import render_rule_file, rule_groups
from suites.slo.documents import log_slo_document, slo_document

pytestmark = pytest.mark.static

VALID = log_slo_document("checkout-log-availability")
GOOD = "spec.indicator.spec.ratioMetric.good.metricSource"
TOTAL = "spec.indicator.spec.ratioMetric.total.metricSource"


def _line(document: str, text: str, occurrence: int = 1) -> int:
    lines = [i for i, line in enumerate(document.splitlines(), 1) if text in line]
    return lines[occurrence - 1]


def _first(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


MIXED = slo_document("mixed", "requests_total", "requests_total").replace(
    "            type: Prometheus\n            spec:\n              query: 'requests_total'\n",
    "            type: OpenSearch\n            spec:\n              index: logs-*\n",
    1,
)

# id -> (document, the text on the line the error points at (nth occurrence), field it names)
CORPUS: dict[str, tuple[str, tuple[str, int], str]] = {
    "unknown-filter-field": (
        _first("service: shop", "servce: shop"),
        ("servce: shop", 1),
        f"{GOOD}.spec.filters.servce",
    ),
    "filter-value-a-list": (
        _first("service: shop", "service: [shop, cart]"),
        ("service: [shop", 1),
        f"{GOOD}.spec.filters.service",
    ),
    "status-range-reversed": (
        _first("status: {gte: 100, lt: 500}", "status: {gte: 500, lt: 100}"),
        ("status:", 1),
        f"{GOOD}.spec.status",
    ),
    "status-bound-not-a-number": (
        _first("status: {gte: 100, lt: 500}", "status: {gte: low, lt: 500}"),
        ("status:", 1),
        f"{GOOD}.spec.status.gte",
    ),
    "missing-index": (
        _first("              index: 'logs-*'\n", ""),
        ("filters:", 1),
        f"{GOOD}.spec.index",
    ),
    "index-not-a-pattern": (
        _first("index: 'logs-*'", "index: 'Logs/*'"),
        ("index: 'Logs/*'", 1),
        f"{GOOD}.spec.index",
    ),
    "raw-query-dsl": (
        _first(
            "              index: 'logs-*'\n",
            "              index: 'logs-*'\n              query: '{}'\n",
        ),
        ("query:", 1),
        f"{GOOD}.spec.query",
    ),
    "good-not-a-subset": (
        VALID.replace("route: /api/v1/orders", "route: /api/v1/carts", 1),
        ("good:", 1),
        f"{GOOD}.spec",
    ),
    "good-and-total-read-different-indices": (
        _first("index: 'logs-*'", "index: 'logs-other-*'"),
        ("good:", 1),
        f"{GOOD}.spec",
    ),
    "prometheus-good-log-total": (MIXED, ("good:", 1), f"{GOOD}.type"),
}


def test_the_valid_log_document_reads_as_a_log_ratio_sli(tmp_path: Path) -> None:
    path = tmp_path / "valid.yaml"
    path.write_text(VALID, encoding="utf-8")
    result = read_slo_files([path], check_promql=False)
    assert result.problems == (), result.problems
    (slo,) = result.slos
    assert isinstance(slo.sli, LogRatioSli) and slo.is_log_based
    assert slo.sli.good.status_range == (100, 500) and slo.sli.total.status_range is None
    assert slo.sli.good.index == slo.sli.total.index == "logs-*"
    elastic = tmp_path / "elastic.yaml"
    elastic.write_text(VALID.replace("type: OpenSearch", "type: Elasticsearch"), encoding="utf-8")
    (other,) = read_slo_files([elastic], check_promql=False).slos
    assert isinstance(other.sli, LogRatioSli) and other.sli.backend == "elasticsearch"


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_log_source_is_rejected_with_a_located_line(tmp_path: Path, case: str) -> None:
    document, (text, occurrence), field = CORPUS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(document, encoding="utf-8")
    result = CliRunner().invoke(build_cli(), ["slo", "validate", "--no-promql", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    expected = f"{path}:{_line(document, text, occurrence)}: {field}: "
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), (
        expected,
        result.stdout,
    )


def test_rule_generation_skips_log_based_slos_and_says_so(tmp_path: Path) -> None:
    log_path = tmp_path / "log.yaml"
    log_path.write_text(VALID, encoding="utf-8")
    prom_path = tmp_path / "prom.yaml"
    prom_path.write_text(slo_document("shop-availability", "r_total", "r_total"), encoding="utf-8")
    slos = read_slo_files([log_path, prom_path], check_promql=False).slos
    assert [g["name"] for g in rule_groups(slos)] == ["slo-shop-availability"]
    text = render_rule_file(slos)
    assert "# Skipped checkout-log-availability: log-based" in text
    result = CliRunner().invoke(build_cli(), ["slo", "rules", str(log_path), str(prom_path)])
    assert result.exit_code == 0, result.output
    assert "checkout-log-availability skipped: log-based" in result.stderr
