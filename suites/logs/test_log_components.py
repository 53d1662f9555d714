"""The log components' declarations and the ingestion report's judgement (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stormcheck.local.catalogue import read_catalogue
from stormcheck.local.logstore import LOG_ROLES, opensearch, shipper
from stormcheck.logstore.ingestion import IngestionReport
from stormcheck.logstore.template import TEMPLATE_NAME, read_index_template
from stormcheck.paths import catalogue_path, project_root
from stormcheck.timeline import Timeline
from stormcheck.verdict import Outcome, Window


@pytest.mark.unit
def test_the_shipper_reads_the_containers_folder_read_only_and_carries_run_and_template() -> None:
    component = shipper("20261126T120000Z-abc123", "/srv/docker/containers")
    assert component.binds == {"/srv/docker/containers": "/docker/containers"}
    assert component.env["SHIPPER_RUN"] == "20261126T120000Z-abc123"
    assert component.env["SHIPPER_OPENSEARCH"] == "opensearch:9200"
    assert component.env["SHIPPER_LOG_GLOB"] == "/docker/containers/*/*-json.log"
    assert component.env["SHIPPER_TEMPLATE_NAME"] == TEMPLATE_NAME
    assert json.loads(component.env["SHIPPER_INDEX_TEMPLATE"]) == read_index_template()
    assert "/var/spool/rsyslog" in component.volumes  # read positions and queue survive restarts


@pytest.mark.unit
def test_opensearch_keeps_its_data_in_a_volume_within_1_gib() -> None:
    node = opensearch()
    assert node.volumes == {"/usr/share/opensearch/data": "data"}
    assert node.memory_mb <= 1024 and node.env["discovery.type"] == "single-node"


@pytest.mark.static
def test_every_log_role_is_in_the_image_catalogue() -> None:
    catalogue = read_catalogue(catalogue_path(), project_root())
    assert set(LOG_ROLES) <= set(catalogue.roles), sorted(catalogue.roles)


def _report(seen: dict[str, int], copies: dict[str, int], error: str = "") -> IngestionReport:
    return IngestionReport(
        run_id="r1",
        window=Window(1_000, 5_000),
        deadline_ms=15_000,
        poll_ms=500,
        responses_ms={"a": 1_000, "b": 2_000, "c": 3_000},
        first_seen_ms=seen,
        copies=copies,
        error=error,
    )


@pytest.mark.unit
def test_every_id_once_within_the_deadline_passes_with_the_lag_percentiles() -> None:
    report = _report({"a": 2_000, "b": 4_000, "c": 3_500}, {"a": 1, "b": 1, "c": 1})
    verdict = report.verdict()
    assert verdict.outcome is Outcome.PASS, verdict.reason
    assert report.lag_summary() == {
        "count": 3,
        "p50_ms": 1000.0,
        "p95_ms": 2000.0,
        "max_ms": 2000.0,
    }


@pytest.mark.unit
def test_a_missing_a_late_and_a_duplicated_id_each_fail_with_the_id() -> None:
    missing = _report({"a": 2_000, "b": 4_000}, {"a": 1, "b": 1}).verdict()
    assert (
        missing.outcome is Outcome.FAIL
        and "never found" in missing.reason
        and "'c'" in missing.reason
    )
    late = _report({"a": 2_000, "b": 4_000, "c": 19_000}, {"a": 1, "b": 1, "c": 1}).verdict()
    assert late.outcome is Outcome.FAIL and "after 15000 ms" in late.reason
    twice = _report({"a": 2_000, "b": 4_000, "c": 3_500}, {"a": 1, "b": 2, "c": 1}).verdict()
    assert twice.outcome is Outcome.FAIL and "{'b': 2}" in twice.reason


@pytest.mark.unit
def test_an_unanswering_store_or_no_ids_is_inconclusive() -> None:
    down = _report({}, {}, error="opensearch at http://127.0.0.1:1: connection refused")
    assert down.verdict().outcome is Outcome.INCONCLUSIVE
    assert "could not answer" in down.verdict().reason


@pytest.mark.unit
def test_the_lag_goes_on_the_timeline_as_a_note(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    report = _report({"a": 2_000, "b": 4_000, "c": 3_500}, {"a": 1, "b": 1, "c": 1})
    event = report.record(timeline)
    assert timeline.events() == [event]
    assert event.attrs["p95_ms"] == 2000.0 and event.attrs["missing"] == 0
