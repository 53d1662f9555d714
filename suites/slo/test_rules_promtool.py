"""The generated rules pass ``promtool check rules`` and ``promtool test rules``.

The unit tests feed synthetic ingress counters (one sample a minute) and assert which burn-rate
alerts fire: a 2 % error ratio burns a 99.9 % budget at 20x (page and ticket fire); 0.05 % burns
at 0.5x (nothing fires); a 10 % burn that stopped 35 minutes ago still fills both long page
windows but no longer the short ones, so the page resolves while the ticket keeps firing — the
point of the second, short window.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.rules import ALERT_NAME, render_rule_file, rule_groups
from suites.slo.documents import slo_document

pytestmark = pytest.mark.integration

SLO_DIR = project_root() / "platform" / "slo"
SERIES = 'haproxy_backend_http_responses_total{{proxy="checkout",code="{code}"}}'


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not on PATH: install Debian's prometheus package", pytrace=False)
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def test_generated_rules_for_every_slo_pass_promtool_check(tmp_path: Path) -> None:
    rules = tmp_path / "slo.rules.yml"
    rules.write_text(render_rule_file(read_slos(slo_files([SLO_DIR]))), encoding="utf-8")
    done = _promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _expected(severity: str, group: dict[str, Any]) -> dict[str, Any]:
    (rule,) = [r for r in group["rules"] if r.get("labels", {}).get("severity") == severity]
    return {"exp_labels": dict(rule["labels"]), "exp_annotations": dict(rule["annotations"])}


def test_burn_rate_alerts_fire_and_stay_quiet_as_the_workbook_says(tmp_path: Path) -> None:
    (checkout,) = [s for s in read_slos(slo_files([SLO_DIR])) if s.name == "checkout-availability"]
    (group,) = rule_groups([checkout])
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rule_file([checkout]), encoding="utf-8")
    page, ticket = _expected("page", group), _expected("ticket", group)

    def case(ok: str, errors: str, eval_time: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": [
                {"series": SERIES.format(code="2xx"), "values": ok},
                {"series": SERIES.format(code="5xx"), "values": errors},
            ],
            "alert_rule_test": [
                {"eval_time": eval_time, "alertname": ALERT_NAME, "exp_alerts": alerts}
            ],
        }

    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            # 980 good + 20 bad a minute: 2 % errors, burn rate 20 > 14.4 and > 3.
            case("0+980x120", "0+20x120", "60m", [page, ticket]),
            # 1999 good + 1 bad: 0.05 %, burn rate 0.5: below every threshold.
            case("0+1999x120", "0+1x120", "60m", []),
            # 10 % errors for an hour, then none. At 95 min both long page windows (1h: 4.2 %,
            # 6h: 6.3 %) are still above their thresholds, but the short ones (5m, 30m) are clean,
            # so the page has resolved; the ticket's windows (2h, 1d) still hold the burn.
            case("0+900x120", "0+100x60 6000+0x60", "60m", [page, ticket]),
            case("0+900x120", "0+100x60 6000+0x60", "95m", [ticket]),
        ],
    }
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    done = _promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_test_rules_catches_a_wrong_expectation(tmp_path: Path) -> None:
    # The negative control: expecting the page in the quiet case must make promtool fail, so the
    # test above could fail too.
    (checkout,) = [s for s in read_slos(slo_files([SLO_DIR])) if s.name == "checkout-availability"]
    (group,) = rule_groups([checkout])
    (tmp_path / "rules.yml").write_text(render_rule_file([checkout]), encoding="utf-8")
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": SERIES.format(code="2xx"), "values": "0+1999x120"},
                    {"series": SERIES.format(code="5xx"), "values": "0+1x120"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "60m",
                        "alertname": ALERT_NAME,
                        "exp_alerts": [_expected("page", group)],
                    }
                ],
            }
        ],
    }
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    done = _promtool("test", "rules", str(tmp_path / "rules_test.yml"))
    assert done.returncode != 0, done.stdout


SLOTH_CHECKOUT = """\
version: "prometheus/v1"
service: "checkout"
slos:
  - name: "ingress"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(haproxy_backend_http_responses_total{proxy="checkout",code="5xx"}[{{.window}}]))
        total_query: sum(rate(haproxy_backend_http_responses_total{proxy="checkout"}[{{.window}}]))
"""

EXPRESSION_CHECKOUT = slo_document(
    "checkout-expression",
    good='sum by (proxy) (rate(haproxy_backend_http_responses_total{proxy="checkout",code!="5xx"}[5m]))',
    total='sum(increase(haproxy_backend_http_responses_total{proxy="checkout"}[1h]))',
    target=0.999,
    period="30d",
)


@pytest.mark.parametrize("form", ["sloth", "expression"])
def test_rules_of_user_forms_pass_promtool_check_and_test(tmp_path: Path, form: str) -> None:
    source = tmp_path / f"{form}.yaml"
    source.write_text(SLOTH_CHECKOUT if form == "sloth" else EXPRESSION_CHECKOUT, encoding="utf-8")
    (slo,) = read_slos([source])
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rule_file([slo]), encoding="utf-8")
    checked = _promtool("check", "rules", str(rules))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    (group,) = rule_groups([slo])
    page, ticket = _expected("page", group), _expected("ticket", group)

    def case(errors: str, eval_time: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "interval": "1m",
            "input_series": [
                {"series": SERIES.format(code="2xx"), "values": "0+980x120"},
                {"series": SERIES.format(code="5xx"), "values": errors},
            ],
            "alert_rule_test": [
                {"eval_time": eval_time, "alertname": ALERT_NAME, "exp_alerts": alerts}
            ],
        }

    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        # 20 bad in 1000 a minute: burn rate 20, page and ticket; 0.5 a minute: nothing.
        "tests": [case("0+20x120", "60m", [page, ticket]), case("0+0.5x120", "60m", [])],
    }
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    done = _promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
