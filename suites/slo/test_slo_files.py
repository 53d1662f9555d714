"""The project's own SLO files and the rule file generated from them."""

from __future__ import annotations

import pytest

from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slo_files, slo_files
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import RatioSli
from stormcheck.slo.rules import render_rule_file, rule_groups

pytestmark = pytest.mark.static

SLO_DIR = project_root() / "platform" / "slo"
RULE_FILE = project_root() / "platform" / "observability" / "rules" / "slo.rules.yml"


def test_slo_files_are_valid_and_cover_every_journey() -> None:
    result = read_slo_files(slo_files([SLO_DIR]), check_promql=False)
    assert result.problems == (), "\n".join(map(str, result.problems))
    names = {s.name for s in result.slos}
    for service in ("catalogue", "cart", "checkout"):
        assert {f"{service}-availability", f"{service}-latency"} <= names, names
        ingress = next(s for s in result.slos if s.name == f"{service}-availability")
        assert isinstance(ingress.sli, RatioSli)
        assert ingress.sli.total.startswith("haproxy_backend_http_responses_total{")


def test_some_slos_work_on_the_minimal_stack_from_the_shops_own_metrics() -> None:
    slos = read_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    own = [
        s
        for s in slos
        if isinstance(s.sli, RatioSli) and s.sli.total.startswith("shop_http_request")
    ]
    assert {s.service for s in own} == {"catalogue", "cart", "checkout"}


def test_checkout_has_a_log_based_slo_over_the_shops_request_lines() -> None:
    slos = read_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    (logged,) = [s for s in slos if s.is_log_based]
    assert logged.name == "checkout-log-availability" and logged.service == "checkout"
    assert isinstance(logged.sli, LogRatioSli) and logged.sli.backend == "opensearch"
    # the shop's access line for placing an order; 5xx is the only bad answer
    expected = {
        "service": "shop",
        "logger": "shop.access",
        "method": "POST",
        "route": "/api/v1/orders",
    }
    assert dict(logged.sli.total.filters) == expected and logged.sli.total.status_range is None
    assert dict(logged.sli.good.filters) == expected
    assert logged.sli.good.status_range == (100, 500)


def test_the_rule_file_skips_the_log_based_slo_with_a_note() -> None:
    slos = read_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    text = RULE_FILE.read_text(encoding="utf-8")
    assert "# Skipped checkout-log-availability: log-based" in text
    assert "slo-checkout-log-availability" not in {g["name"] for g in rule_groups(slos)}
    assert len(rule_groups(slos)) == len(slos) - 1


def test_committed_rule_file_is_what_the_generator_makes() -> None:
    slos = read_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    assert RULE_FILE.read_text(encoding="utf-8") == render_rule_file(slos), (
        "platform/observability/rules/slo.rules.yml is stale: run"
        " `stormcheck slo rules -o platform/observability/rules/slo.rules.yml`"
    )
