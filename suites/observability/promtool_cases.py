"""promtool unit-test documents: the checked-in detection tests, and the SLO burn-rate cases.

The SLO cases are built from the generated rule file, so they follow the SLO engine's output;
the series that feed each SLO are concrete label sets matching its good/total selectors, listed
here per SLO. A new SLO without an entry fails the coverage test by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stormcheck.observability.rules import AlertRule

# SLO name -> series (each "good", "bad" or "total": good and bad share a counter; a histogram's
# bucket is "good" and its _count "total").
SLO_SERIES: dict[str, list[tuple[str, str]]] = {}
for _service, _route, _method, _le in (
    ("cart", "/api/v1/carts/{cart_id}", "GET", "0.5"),
    ("catalogue", "/api/v1/products", "GET", "0.3"),
    ("checkout", "/api/v1/orders", "POST", "1.0"),
):
    _http = f'job="shop",instance="shop-1:8080",route="{_route}",method="{_method}"'
    SLO_SERIES[f"{_service}-availability"] = [
        (f'haproxy_backend_http_responses_total{{proxy="{_service}",code="2xx"}}', "good"),
        (f'haproxy_backend_http_responses_total{{proxy="{_service}",code="5xx"}}', "bad"),
    ]
    SLO_SERIES[f"{_service}-api-availability"] = [
        (f'shop_http_requests_total{{{_http},status="200"}}', "good"),
        (f'shop_http_requests_total{{{_http},status="503"}}', "bad"),
    ]
    SLO_SERIES[f"{_service}-latency"] = [
        (f'shop_http_request_duration_seconds_bucket{{{_http},le="{_le}"}}', "good"),
        (f"shop_http_request_duration_seconds_count{{{_http}}}", "total"),
    ]

# per minute: (good, bad) — 2 % errors burns a 99.9 % budget at 20x and a 99 % one at 2x
_BURN = {0.999: (980, 20), 0.99: (900, 100)}
_QUIET = (1999, 1)


def _values(kind: str, good: int, bad: int) -> str:
    step = {"good": good, "bad": bad, "total": good + bad}[kind]
    return f"0+{step}x120"


def slo_test_document(
    rules_file: Path, alerts: list[AlertRule], objectives: dict[str, float]
) -> dict[str, Any]:
    """For every SLO with burn-rate alerts: a case where page and ticket fire, and a quiet one."""
    by_slo: dict[str, list[AlertRule]] = {}
    for alert in alerts:
        by_slo.setdefault(alert.labels["slo"], []).append(alert)
    tests = []
    for slo, rules in sorted(by_slo.items()):
        series = SLO_SERIES.get(slo)
        if series is None:
            continue  # the coverage test names it
        good, bad = _BURN[objectives[slo]]
        expected = [
            {"exp_labels": dict(r.labels), "exp_annotations": dict(r.annotations)} for r in rules
        ]
        for (ok, errors), exp in (((good, bad), expected), (_QUIET, [])):
            tests.append(
                {
                    "name": f"{slo}: {'burning' if exp else 'quiet'}",
                    "interval": "1m",
                    "input_series": [
                        {"series": s, "values": _values(kind, ok, errors)} for s, kind in series
                    ],
                    "alert_rule_test": [
                        {"eval_time": "60m", "alertname": rules[0].name, "exp_alerts": exp}
                    ],
                }
            )
    return {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": tests}


def load_test_document(path: Path) -> dict[str, Any]:
    """A promtool test file as data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data
