"""The log query builder: bodies, refusals, and the index template it is written against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.logstore import DateHistogram, LogQuery, Terms, connect
from stormcheck.logstore.query import KEYWORD_FIELDS, LOG_FIELDS
from stormcheck.logstore.template import read_index_template, template_path
from stormcheck.verdict import Window

WINDOW = Window(1_000_000, 1_060_000)


@pytest.mark.unit
def test_filters_and_window_become_one_bool_filter() -> None:
    query = LogQuery(window=WINDOW).where(service="shop", zone="a").status_between(500, 600)
    assert query.filter_clause() == {
        "bool": {
            "filter": [
                {
                    "range": {
                        "@timestamp": {"gte": 1_000_000, "lt": 1_060_000, "format": "epoch_millis"}
                    }
                },
                {"term": {"service": "shop"}},
                {"term": {"zone": "a"}},
                {"range": {"status": {"gte": 500, "lt": 600}}},
            ]
        }
    }
    assert "service=shop" in query.describe() and "status in [500, 600)" in query.describe()


@pytest.mark.unit
def test_unknown_fields_empty_ranges_and_backends_are_refused_with_the_expectation() -> None:
    with pytest.raises(ConfigError, match=r"'servce' is not a field .* expected one of .*service"):
        LogQuery(window=WINDOW).where(servce="shop")
    with pytest.raises(ConfigError, match=r"terms field 'message'"):
        Terms("message")
    with pytest.raises(ConfigError, match=r"status range \[600, 500\) is empty"):
        LogQuery(window=WINDOW).status_between(600, 500)
    with pytest.raises(ConfigError, match=r"interval_s must be positive"):
        DateHistogram(0)
    with pytest.raises(ConfigError, match=r"'splunk' is unknown; expected one of elasticsearch"):
        connect("splunk", "http://127.0.0.1:9")


@pytest.mark.unit
def test_the_histogram_reaches_both_ends_of_the_window() -> None:
    body = DateHistogram(10).body(WINDOW)["date_histogram"]
    assert body["extended_bounds"] == {"min": 1_000_000, "max": 1_059_999}
    assert body["min_doc_count"] == 0 and body["fixed_interval"] == "10s"


@pytest.mark.static
def test_query_fields_are_exactly_the_index_templates_fields() -> None:
    properties = read_index_template()["template"]["mappings"]["properties"]
    assert set(properties) == LOG_FIELDS
    keyword = {name for name, spec in properties.items() if spec["type"] == "keyword"}
    assert keyword == KEYWORD_FIELDS


@pytest.mark.unit
def test_a_broken_template_names_the_file_and_the_fault(tmp_path: Path) -> None:
    path = tmp_path / "index-template.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"index-template.json: not valid JSON"):
        read_index_template(path)
    path.write_text(json.dumps({"index_patterns": ["logs-*"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing field 'template'"):
        read_index_template(path)
    assert template_path().is_file()
