"""Schemathesis against the live shop: every operation of its /openapi.json, generated inputs.

Valid and invalid inputs alike must never get a 5xx, input the document forbids must get a 4xx,
and every response must match what the document declares: status codes, content types, headers
and body schemas. Examples are bounded per operation and mode, and the whole run by a time budget.

Schemathesis' lazy pytest loader (``schemathesis.pytest.from_fixture``) does not work with
pytest 9 (it sets ``Function._nodeid``), so the run drives each operation's Hypothesis strategy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from suites.shop.databases import fresh_database
from suites.shop.shop_process import ShopProcess

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = 25
BUDGET_S = 180.0


@pytest.fixture(scope="module")
def shop(shop_python: str, postgres_dsn: str, redis_url: str) -> Iterator[ShopProcess]:
    with fresh_database(postgres_dsn) as dsn, ShopProcess(shop_python, dsn, redis_url) as proc:
        yield proc


def _exercise(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], mode: GenerationMode
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(checks=CHECKS, timeout=10)

    run()


def test_every_operation_conforms_and_never_answers_5xx(shop: ShopProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{shop.url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert not isinstance(result, Err), f"the shop's document is invalid: {result.err()}"
        operations.append(result.ok())
    declared = sum(len(methods) for methods in schema.raw_schema["paths"].values())
    assert len(operations) == declared == 11

    give_up = time.monotonic() + BUDGET_S
    failures: dict[str, str] = {}
    runs: list[str] = []
    for operation in operations:
        definition = schema.raw_schema["paths"][operation.path][operation.method]
        # Without parameters or a body there is nothing to make invalid.
        has_input = "parameters" in definition or "requestBody" in definition
        modes = [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * has_input
        for mode in modes:
            assert time.monotonic() < give_up, (
                f"time budget of {BUDGET_S:.0f} s spent after {len(runs)} runs: {runs}"
            )
            runs.append(f"{mode} {operation.label}")
            try:
                _exercise(operation, mode)
            # Schemathesis raises a FailureGroup (a BaseExceptionGroup) of everything it found;
            # every operation runs, and the failures are reported together.
            except (Exception, BaseExceptionGroup) as exc:
                failures[f"{mode} {operation.label}"] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"== {name}\n{text}" for name, text in failures.items())
