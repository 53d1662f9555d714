"""The project's own SLO files and the rule file generated from them."""

from __future__ import annotations

import pytest

from stormcheck.paths import project_root
from stormcheck.slo.loader import load_slo_files, slo_files
from stormcheck.slo.rules import render_rule_file

pytestmark = pytest.mark.static

SLO_DIR = project_root() / "platform" / "slo"
RULE_FILE = project_root() / "platform" / "observability" / "rules" / "slo.rules.yml"


def test_slo_files_are_valid_and_cover_every_journey() -> None:
    result = load_slo_files(slo_files([SLO_DIR]), check_promql=False)
    assert result.problems == (), "\n".join(map(str, result.problems))
    names = {s.name for s in result.slos}
    for service in ("catalogue", "cart", "checkout"):
        assert {f"{service}-availability", f"{service}-latency"} <= names, names
        ingress = next(s for s in result.slos if s.name == f"{service}-availability")
        assert ingress.sli.total.startswith("haproxy_backend_http_responses_total{")


def test_some_slos_work_on_the_minimal_stack_from_the_shops_own_metrics() -> None:
    slos = load_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    own = [s for s in slos if s.sli.total.startswith("shop_http_request")]
    assert {s.service for s in own} == {"catalogue", "cart", "checkout"}


def test_committed_rule_file_is_what_the_generator_makes() -> None:
    slos = load_slo_files(slo_files([SLO_DIR]), check_promql=False).slos
    assert RULE_FILE.read_text(encoding="utf-8") == render_rule_file(slos), (
        "platform/observability/rules/slo.rules.yml is stale: run"
        " `stormcheck slo rules -o platform/observability/rules/slo.rules.yml`"
    )
