"""``stormcheck gate --run RUN``: backends from the run's file, verdicts merged into the run.

The run is a run folder written as ``stormcheck up`` writes one, whose Prometheus is a host
Prometheus with the backfilled dataset and whose OpenSearch is the session's node seeded with the
checkout log lines. The gate evaluates a Prometheus SLO and the log-based one from the project's
checkout.yaml (its index pattern narrowed to this module's index).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stormcheck.cli import build_cli
from stormcheck.errors import ConfigError
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.paths import project_root
from stormcheck.runs import ComponentRecord, Lease, Manifest, RunFolder, new_run_id
from stormcheck.slo.run_verdicts import merge_verdicts, record_gate
from stormcheck.timeline import EventKind, now_ms
from stormcheck.verdict import Evidence, Outcome, Verdict, Window
from suites.slo.evidence import counts
from suites.slo.log_lines import checkout_documents, index_in_batches, unique_prefix
from suites.slo.series import at, dataset_openmetrics

CHECKOUT_SLOS = project_root() / "platform" / "slo" / "checkout.yaml"


def _verdict(name: str, outcome: Outcome, reason: str = "as recorded before") -> Verdict:
    return Verdict(name=name, outcome=outcome, reason=reason, evidence=(Evidence(description="x"),))


def _run(runs_dir: Path, urls: dict[str, str]) -> RunFolder:
    """A run file that is up, whose components (named like their one endpoint) are at ``urls``."""
    run_id = new_run_id()
    folder = RunFolder(runs_dir / run_id).create()
    manifest = Manifest(
        run_id=run_id,
        profile="local",
        stack="minimal",
        created_ms=now_ms(),
        lease=Lease.for_current_process(),
        state="up",
    )
    for name, url in urls.items():
        manifest.add(
            ComponentRecord(
                name=name,
                role=name,
                zone="a",
                image="",
                container=f"sc-{run_id}-{name}",
                endpoints={name: url},
                ready_s=0.0,
            )
        )
    folder.write_manifest(manifest)
    return folder


@pytest.mark.unit
def test_merge_replaces_by_name_in_place_and_appends_new_names() -> None:
    existing = [
        _verdict("ready/api", Outcome.PASS),
        _verdict("slo/checkout-availability", Outcome.INCONCLUSIVE),
    ]
    new = [
        _verdict("slo/checkout-availability", Outcome.PASS, "now measured"),
        _verdict("slo gate", Outcome.PASS),
    ]
    merged = merge_verdicts(existing, new)
    assert [v.name for v in merged] == ["ready/api", "slo/checkout-availability", "slo gate"]
    assert merged[1].reason == "now measured" and merged[0] is existing[0]


@pytest.mark.unit
def test_an_unreadable_verdicts_file_is_an_error_and_is_left_alone(tmp_path: Path) -> None:
    folder = _run(tmp_path, {})
    folder.verdicts_path.write_text("[{not json", encoding="utf-8")
    verdict = _verdict("slo/x", Outcome.PASS)
    with pytest.raises(ConfigError, match=r"verdicts\.json: not a verdicts file"):
        record_gate(folder, [verdict], verdict, exit_code=0, window=Window(0, 1000))
    assert folder.verdicts_path.read_text(encoding="utf-8") == "[{not json"
    assert folder.timeline.events() == []


@pytest.mark.integration
def test_gate_run_records_its_verdicts_in_the_run_and_a_verdict_event(
    tmp_path: Path,
    make_host_prometheus: Callable[[str], Any],
    opensearch_store: OpenSearchStore,
) -> None:
    prefix = unique_prefix("slo-gate")
    assert index_in_batches(opensearch_store, f"{prefix}-2026.01.01", checkout_documents()) > 0
    slo_dir = tmp_path / "slo"
    slo_dir.mkdir()
    text = CHECKOUT_SLOS.read_text(encoding="utf-8")
    assert text.count("index: logs-*") == 2
    (slo_dir / "checkout.yaml").write_text(
        text.replace("index: logs-*", f"index: {prefix}-*"), encoding="utf-8"
    )
    prometheus = make_host_prometheus(dataset_openmetrics())
    folder = _run(
        tmp_path / "runs",
        {"prometheus": prometheus.url, "opensearch": opensearch_store.url},
    )
    folder.write_verdicts(
        [
            _verdict("ready/api", Outcome.PASS),
            _verdict("slo/checkout-availability", Outcome.INCONCLUSIVE),
        ]
    )
    # window A of the log dataset: 5 of 1000 checkout lines are 5xx (fail); the ingress
    # counters of the same 10 minutes have no 5xx (pass)
    args = ["gate", "--run", folder.run_id[:18], "--slo-dir", str(slo_dir)]
    args += ["--slo", "checkout-availability", "--slo", "checkout-log-availability"]
    args += ["--window", f"{at(0)}..{at(10)}", "--json"]
    result = CliRunner().invoke(
        build_cli(), args, env={"STORMCHECK_RUNS_DIR": str(tmp_path / "runs")}
    )
    assert result.exit_code == 1, result.output
    recorded = {v.name: v for v in folder.read_verdicts()}
    assert list(recorded) == [
        "ready/api",
        "slo/checkout-availability",
        "slo/checkout-log-availability",
        "slo gate",
    ]
    assert recorded["ready/api"].reason == "as recorded before"
    assert recorded["slo/checkout-availability"].outcome is Outcome.PASS
    logged = recorded["slo/checkout-log-availability"]
    assert logged.outcome is Outcome.FAIL, logged.explain()
    assert counts(logged.evidence[0]) == (995, 1000)
    assert recorded["slo gate"].outcome is Outcome.FAIL
    (event,) = folder.timeline.events(EventKind.VERDICT)
    assert event.name == "slo gate" and event.attrs["outcome"] == "fail"
    assert event.attrs["exit_code"] == 1
    assert event.attrs["window_start_ms"] == at(0) and event.attrs["window_end_ms"] == at(10)
    assert event.attrs["verdicts"] == {
        "slo/checkout-availability": "pass",
        "slo/checkout-log-availability": "fail",
    }
    report = json.loads(result.stdout)
    assert report["log_stores"] == {"opensearch": opensearch_store.url}
