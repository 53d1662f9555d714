"""Verdicts: three outcomes, evidence that survives a round trip, fail-closed combination."""

from __future__ import annotations

import pytest

from stormcheck.errors import ConfigError
from stormcheck.verdict import Evidence, Outcome, Verdict, Window, combine, gate_exit_code

pytestmark = pytest.mark.unit


def _evidence() -> Evidence:
    return Evidence(
        description="availability at the ingress",
        source="prometheus",
        query="sum(rate(haproxy_frontend_http_responses_total[5m]))",
        window=Window(1_000, 61_000),
        observed=0.9987,
        objective=0.999,
        budget_spent=0.0125,
        links=("http://127.0.0.1:9090/graph",),
    )


def test_verdict_round_trips_through_json_form() -> None:
    verdict = Verdict.failed("slo/availability", "0.9987 < 0.999", _evidence())
    assert Verdict.from_dict(verdict.to_dict()) == verdict


def test_verdict_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="no reason"):
        Verdict(name="x", outcome=Outcome.PASS, reason="  ")


def test_unknown_outcome_is_refused_with_its_name() -> None:
    data = Verdict.passed("x", "ok").to_dict() | {"outcome": "true"}
    with pytest.raises(ConfigError, match=r"outcome 'true' is not one of pass, fail, inconclusive"):
        Verdict.from_dict(data)


def test_window_must_end_after_it_starts() -> None:
    assert Window(0, 1500).seconds == 1.5
    with pytest.raises(ValueError, match="before it starts"):
        Window(10, 10)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ((Outcome.PASS, Outcome.PASS), Outcome.PASS),
        ((Outcome.PASS, Outcome.INCONCLUSIVE), Outcome.INCONCLUSIVE),
        ((Outcome.INCONCLUSIVE, Outcome.FAIL, Outcome.PASS), Outcome.FAIL),
    ],
)
def test_combination_fails_closed(outcomes: tuple[Outcome, ...], expected: Outcome) -> None:
    verdicts = [Verdict(name=f"v{i}", outcome=o, reason="r") for i, o in enumerate(outcomes)]
    combined = combine("all", verdicts)
    assert combined.outcome is expected, combined.explain()


def test_combination_of_nothing_is_inconclusive_not_pass() -> None:
    assert combine("all", []).outcome is Outcome.INCONCLUSIVE


def test_combination_keeps_every_piece_of_evidence_and_names_the_culprits() -> None:
    a = Verdict.passed("a", "ok", _evidence())
    b = Verdict.failed("b", "bad", _evidence())
    combined = combine("all", [a, b])
    assert len(combined.evidence) == 2
    assert "1 of 2 fail: b" in combined.reason


def test_gate_exit_codes() -> None:
    assert gate_exit_code(Verdict.passed("x", "ok")) == 0
    assert gate_exit_code(Verdict.failed("x", "bad")) == 1
    assert gate_exit_code(Verdict.inconclusive("x", "no data")) == 2
    assert gate_exit_code(Verdict.inconclusive("x", "no data"), allow_inconclusive=True) == 0
    assert gate_exit_code(Verdict.failed("x", "bad"), allow_inconclusive=True) == 1


def test_explain_shows_the_evidence() -> None:
    text = Verdict.failed("slo/availability", "below objective", _evidence()).explain()
    assert "FAIL" in text and "observed=0.9987" in text and "budget_spent=1.25%" in text
