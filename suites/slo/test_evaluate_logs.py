"""The log-based checkout SLO of platform/slo/, evaluated by a real OpenSearch 2.19 node.

Documents with known counts (``log_lines``) are ``_bulk``-indexed into an index of the log
template's pattern unique to this module; the SLO is the project's own file with only its index
pattern narrowed to that index. SLI, budget spent and verdicts are compared with values computed
by hand from the counts.
"""

from __future__ import annotations

import dataclasses
import socket

import pytest

from stormcheck.logstore import connect
from stormcheck.logstore.opensearch_backend import OpenSearchStore
from stormcheck.paths import project_root
from stormcheck.slo.evaluate import evaluate, evaluate_all
from stormcheck.slo.loader import read_slos, slo_files
from stormcheck.slo.log_sli import LogRatioSli
from stormcheck.slo.model import Slo
from stormcheck.verdict import Outcome, Verdict, Window
from suites.slo.evidence import counts
from suites.slo.evidence import sli as sli_of
from suites.slo.log_lines import WINDOWS, checkout_documents, index_in_batches, unique_prefix
from suites.slo.series import at

pytestmark = pytest.mark.integration

MONTH_S = 30 * 86400
OBJECTIVE = 0.999


def project_log_slo(index: str) -> Slo:
    """``checkout-log-availability`` from platform/slo/, reading ``index`` instead of logs-*."""
    (slo,) = [
        s
        for s in read_slos(slo_files([project_root() / "platform" / "slo"]), check_promql=False)
        if s.name == "checkout-log-availability"
    ]
    assert isinstance(slo.sli, LogRatioSli)
    sli = dataclasses.replace(
        slo.sli,
        good=dataclasses.replace(slo.sli.good, index=index),
        total=dataclasses.replace(slo.sli.total, index=index),
    )
    return dataclasses.replace(slo, sli=sli)


@pytest.fixture(scope="module")
def checkout_slo(opensearch_store: OpenSearchStore) -> Slo:
    """The project's log SLO over a freshly seeded index with the checkout dataset."""
    prefix = unique_prefix("slo-checkout")
    assert index_in_batches(opensearch_store, f"{prefix}-2026.01.01", checkout_documents()) > 0
    return project_log_slo(f"{prefix}-*")


def _window(name: str) -> Window:
    start, end, _, _ = WINDOWS[name]
    return Window(at(start), at(end))


def _measured(verdict: Verdict) -> tuple[float, float, float, float]:
    (evidence,) = verdict.evidence
    assert evidence.observed is not None and evidence.budget_spent is not None, verdict.explain()
    good, total = counts(evidence)
    return (
        good,
        total,
        evidence.observed,
        evidence.budget_spent,
    )


def test_window_with_five_5xx_in_1000_fails_with_the_hand_computed_budget(
    checkout_slo: Slo, opensearch_store: OpenSearchStore
) -> None:
    verdict = evaluate(checkout_slo, _window("A"), None, logs=opensearch_store)
    good, total, sli, spent = _measured(verdict)
    assert (good, total) == (995, 1000)  # 409s are good; other routes, services, loggers ignored
    assert sli == pytest.approx(0.995, rel=1e-12)
    # (1 - 0.995) * 600 s / ((1 - 0.999) * 30 d) = 3 / 2592
    assert spent == pytest.approx(3 / 2592, rel=1e-9)
    assert round(spent, 6) == 0.001157
    assert sli_of(verdict.evidence[0]).burn_rate == pytest.approx(5.0, rel=1e-9)
    assert verdict.outcome is Outcome.FAIL, verdict.explain()


def test_window_exactly_at_the_objective_passes_and_spends_its_share(
    checkout_slo: Slo, opensearch_store: OpenSearchStore
) -> None:
    # The 503 at exactly T0+10m belongs to B ([start, end)), not to A.
    verdict = evaluate(checkout_slo, _window("B"), None, logs=opensearch_store)
    good, total, sli, spent = _measured(verdict)
    assert (good, total) == (999, 1000)
    assert sli == OBJECTIVE
    # a window at the objective spends budget at exactly the even rate: 600 s of 30 d
    assert spent == pytest.approx(600 / MONTH_S, rel=1e-9)
    assert verdict.outcome is Outcome.PASS, verdict.explain()


def test_evidence_holds_both_queries_the_window_and_the_dsl_sent(
    checkout_slo: Slo, opensearch_store: OpenSearchStore
) -> None:
    whole = Window(at(0), at(20))
    verdict = evaluate(checkout_slo, whole, None, logs=opensearch_store)
    (evidence,) = verdict.evidence
    assert evidence.window == whole and evidence.objective == OBJECTIVE
    assert evidence.observed == pytest.approx(1994 / 2000, rel=1e-12)
    assert evidence.query is not None and "status in [100, 500)" in evidence.query
    assert "logger=shop.access" in str(sli_of(evidence).total_query)
    filters = evidence.details["good_dsl"]["bool"]["filter"]
    assert {"range": {"status": {"gte": 100, "lt": 500}}} in filters
    assert evidence.source == "opensearch"
    assert verdict.outcome is Outcome.FAIL


def test_no_checkout_traffic_in_fresh_logs_is_inconclusive(
    checkout_slo: Slo, opensearch_store: OpenSearchStore
) -> None:
    verdict = evaluate(checkout_slo, _window("C"), None, logs=opensearch_store)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "no traffic" in verdict.reason


def test_a_window_past_the_newest_log_line_is_inconclusive_as_stale(
    checkout_slo: Slo, opensearch_store: OpenSearchStore
) -> None:
    verdict = evaluate(checkout_slo, Window(at(35), at(45)), None, logs=opensearch_store)
    assert verdict.outcome is Outcome.INCONCLUSIVE, verdict.explain()
    assert "older than the end of the window" in verdict.reason


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_log_store_or_none_at_all_is_inconclusive(checkout_slo: Slo) -> None:
    dead = connect("opensearch", f"http://127.0.0.1:{_closed_port()}")
    try:
        unreachable = evaluate(checkout_slo, _window("A"), None, logs=dead)
    finally:
        dead.close()
    assert unreachable.outcome is Outcome.INCONCLUSIVE, unreachable.explain()
    assert "could not answer" in unreachable.reason
    (missing,) = evaluate_all([checkout_slo], _window("A"), None, logs={})
    assert missing.outcome is Outcome.INCONCLUSIVE and "no log store" in missing.reason
