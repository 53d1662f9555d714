"""Windows as users write them: ``A..B`` or "the last D".

An instant is RFC 3339 with a zone (``2026-11-26T10:00:00Z``), epoch seconds (ten digits:
``1795690800``) or epoch milliseconds (thirteen digits: ``1795690800000``); any other number of
digits is refused rather than guessed. A window that starts before 2000 or ends in the future is
refused too: it is a typo (seconds read as milliseconds, a wrong year), and judging it would only
give ``inconclusive``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from stormcheck.errors import ConfigError
from stormcheck.slo.model import parse_duration
from stormcheck.timeline import iso_ms, now_ms
from stormcheck.verdict import Window

__all__ = ["EARLIEST_MS", "parse_instant_ms", "parse_window", "window_since"]

EARLIEST_MS = round(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
_SECONDS_DIGITS = 10
_MILLISECONDS_DIGITS = 13


def parse_instant_ms(text: str) -> int:
    """Epoch milliseconds from RFC 3339 (a zone is required), epoch seconds or epoch ms."""
    stripped = text.strip()
    if stripped.isdigit():
        if len(stripped) == _SECONDS_DIGITS:
            return int(stripped) * 1000
        if len(stripped) == _MILLISECONDS_DIGITS:
            return int(stripped)
        raise ConfigError(
            f"{text!r} is neither epoch seconds (10 digits) nor epoch milliseconds (13 digits)"
        )
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a time: expected RFC 3339 with a zone (2026-11-26T10:00:00Z)"
            " or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        raise ConfigError(f"{text!r} has no time zone: add Z or an offset such as +01:00")
    return round(moment.timestamp() * 1000)


def parse_window(text: str, *, at_ms: int | None = None) -> Window:
    """A :class:`Window` from ``A..B``; :class:`ConfigError` saying what was expected.

    ``at_ms`` is now (default: the clock); the window may not end after it.
    """
    start, sep, end = text.partition("..")
    if not sep:
        raise ConfigError(f"window {text!r}: expected START..END")
    start_ms, end_ms = parse_instant_ms(start), parse_instant_ms(end)
    if end_ms <= start_ms:
        raise ConfigError(f"window {text!r}: the end is not after the start")
    if start_ms < EARLIEST_MS:
        raise ConfigError(
            f"window {text!r} starts at {iso_ms(start_ms)}, before 2000: expected epoch seconds"
            " (10 digits), epoch milliseconds (13 digits) or RFC 3339"
        )
    now = now_ms() if at_ms is None else at_ms
    if end_ms > now:
        raise ConfigError(
            f"window {text!r} ends at {iso_ms(end_ms)}, {(end_ms - now) / 1000:.0f} s in the"
            " future: a window can be judged once it has ended"
        )
    return Window(start_ms, end_ms)


def window_since(duration: str, at_ms: int | None = None) -> Window:
    """The window of length ``duration`` (``1h``) that ends at ``at_ms`` (default: now)."""
    try:
        seconds = parse_duration(duration.strip())
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    end = now_ms() if at_ms is None else at_ms
    return Window(end - seconds * 1000, end)
