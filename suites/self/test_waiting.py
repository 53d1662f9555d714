"""The engine's one polling loop and its free-port helper."""

from __future__ import annotations

import socket
import time

import pytest

from stormcheck.errors import NotReadyError
from stormcheck.net import free_port
from stormcheck.waiting import NotYet, poll_until

pytestmark = pytest.mark.unit


def test_poll_until_returns_the_first_value_that_is_not_not_yet() -> None:
    answers = iter([NotYet("booting"), NotYet("warming"), 42])
    assert (
        poll_until(lambda: next(answers), timeout_s=5, interval_s=0.01, on_timeout=NotReadyError)
        == 42
    )


def test_poll_until_raises_the_callers_error_with_the_last_reason() -> None:
    calls: list[float] = []

    def never() -> int | NotYet:
        calls.append(time.monotonic())
        return NotYet(f"try {len(calls)}")

    started = time.monotonic()
    with pytest.raises(NotReadyError, match=r"gave up: try \d+$") as caught:
        poll_until(
            never,
            timeout_s=0.2,
            interval_s=0.05,
            on_timeout=lambda r: NotReadyError(f"gave up: {r}"),
        )
    assert caught.value.args[0] == f"gave up: try {len(calls)}"
    assert 2 <= len(calls) <= 6 and time.monotonic() - started < 1.0


def test_poll_until_checks_once_even_without_time() -> None:
    assert (
        poll_until(lambda: "ready", timeout_s=0, interval_s=1, on_timeout=NotReadyError) == "ready"
    )


def test_poll_until_lets_the_checks_own_errors_through() -> None:
    def broken() -> int:
        raise ValueError("not a readiness question")

    with pytest.raises(ValueError, match="not a readiness question"):
        poll_until(broken, timeout_s=1, interval_s=0.01, on_timeout=NotReadyError)


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535
