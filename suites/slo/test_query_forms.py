"""Every accepted way of writing a counter query gives the bare selector's SLI and budget spent.

A real Prometheus serves the backfilled dataset (``series.DATASET``); each form of the same SLO
(rate, increase or irate with any range or ``{{.window}}``, ``sum by``, arithmetic, OpenSLO's
``bad``, a Sloth spec) is evaluated through the real loader over an aligned and an unaligned
window and compared with the bare-selector form to a relative 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stormcheck.clients.prometheus import PrometheusClient
from stormcheck.slo.evaluate import evaluate
from stormcheck.slo.loader import read_slos
from stormcheck.slo.model import Slo
from stormcheck.verdict import Outcome, Verdict, Window
from suites.slo.documents import load_one, slo_document
from suites.slo.series import REQUESTS, T0, at, dataset_openmetrics

pytestmark = pytest.mark.integration

GOOD = f'{REQUESTS}{{case="steady",outcome="good"}}'
BAD = f'{REQUESTS}{{case="steady",outcome="bad"}}'
TOTAL = f'{REQUESTS}{{case="steady"}}'

# form -> (good, total)
FORMS: dict[str, tuple[str, str]] = {
    "rate-5m": (f"sum(rate({GOOD}[5m]))", f"sum(rate({TOTAL}[5m]))"),
    "increase-1h": (f"sum(increase({GOOD}[1h]))", f"sum(increase({TOTAL}[1h]))"),
    "irate-1m": (f"sum(irate({GOOD}[1m]))", f"sum(irate({TOTAL}[1m]))"),
    "window-placeholder": (
        f"sum(rate({GOOD}[{{{{.window}}}}]))",
        f"sum(rate({TOTAL}[{{{{.window}}}}]))",
    ),
    "sum-by": (
        f"sum by (outcome) (rate({GOOD}[5m]))",
        f"sum by (case, outcome) (rate({TOTAL}[5m]))",
    ),
    "no-aggregation": (f"rate({GOOD}[2m])", f"increase({TOTAL}[10m])"),
    "difference-and-sum": (
        f"sum(rate({TOTAL}[5m])) - sum(rate({BAD}[5m]))",
        f"sum(rate({GOOD}[5m])) + sum(rate({BAD}[5m]))",
    ),
    "scaled": (f"sum(rate({GOOD}[5m])) * 60", f"(sum(rate({TOTAL}[5m]))) * 60"),
}

WINDOWS = {
    "aligned": Window(at(60), at(120)),
    "unaligned": Window((T0 + 3600 + 7) * 1000, (T0 + 7200 + 7) * 1000),
}


@pytest.fixture(scope="module")
def prometheus(make_host_prometheus: Callable[[str], Any]) -> Iterator[PrometheusClient]:
    """A client of a host Prometheus holding the dataset."""
    running = make_host_prometheus(dataset_openmetrics())
    with PrometheusClient(running.url) as client:
        yield client


def _sli_and_spent(verdict: Verdict) -> tuple[float, float]:
    (evidence,) = verdict.evidence
    assert verdict.outcome in {Outcome.PASS, Outcome.FAIL}, verdict.explain()
    assert evidence.observed is not None and evidence.budget_spent is not None
    return evidence.observed, evidence.budget_spent


def _bare(folder: Path) -> Slo:
    folder.mkdir(exist_ok=True)
    return load_one(folder, slo_document("steady-bare", good=GOOD, total=TOTAL))


def _assert_same(form: Slo, bare: Slo, window: Window, client: PrometheusClient) -> None:
    expected = _sli_and_spent(evaluate(bare, window, client))
    got = _sli_and_spent(evaluate(form, window, client))
    assert got == pytest.approx(expected, rel=1e-9, abs=0), (got, expected)
    assert expected[0] == pytest.approx(59 / 60, rel=1e-3)  # the data's SLI, not a degenerate 1


@pytest.mark.parametrize("window_name", sorted(WINDOWS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_expression_form_gives_the_bare_selector_sli_and_budget(
    prometheus: PrometheusClient, tmp_path: Path, form: str, window_name: str
) -> None:
    good, total = FORMS[form]
    slo = load_one(tmp_path, slo_document(f"steady-{form}", good=good, total=total))
    _assert_same(slo, _bare(tmp_path / "bare"), WINDOWS[window_name], prometheus)


@pytest.mark.parametrize("window_name", sorted(WINDOWS))
def test_openslo_bad_form_gives_the_same_sli(
    prometheus: PrometheusClient, tmp_path: Path, window_name: str
) -> None:
    document = slo_document("steady-bad", good=f"sum(rate({BAD}[5m]))", total=TOTAL)
    document = document.replace("        good:\n", "        bad:\n", 1)
    slo = load_one(tmp_path, document)
    assert slo.sli.bad is not None  # type: ignore[union-attr]
    _assert_same(slo, _bare(tmp_path / "bare"), WINDOWS[window_name], prometheus)


@pytest.mark.parametrize("window_name", sorted(WINDOWS))
def test_sloth_form_gives_the_same_sli(
    prometheus: PrometheusClient, tmp_path: Path, window_name: str
) -> None:
    path = tmp_path / "sloth.yaml"
    path.write_text(
        f"""\
version: "prometheus/v1"
service: "steady"
slos:
  - name: "requests"
    objective: 99
    sli:
      events:
        error_query: sum(rate({BAD}[{{{{.window}}}}]))
        total_query: sum(rate({TOTAL}[{{{{.window}}}}]))
""",
        encoding="utf-8",
    )
    (slo,) = read_slos([path])
    assert slo.name == "steady-requests" and slo.objective == pytest.approx(0.99)
    (tmp_path / "bare").mkdir()
    bare = load_one(
        tmp_path / "bare", slo_document("steady-bare", good=GOOD, total=TOTAL, period="30d")
    )
    _assert_same(slo, bare, WINDOWS[window_name], prometheus)
