"""Windows as users write them: ``A..B`` (RFC 3339 times or epoch milliseconds) or "the last D"."""

from __future__ import annotations

from datetime import datetime

from stormcheck.errors import ConfigError
from stormcheck.slo.model import parse_duration
from stormcheck.timeline import now_ms
from stormcheck.verdict import Window

__all__ = ["parse_instant_ms", "parse_window", "window_since"]


def parse_instant_ms(text: str) -> int:
    """Epoch milliseconds from ``2026-11-26T10:00:00Z`` (a zone is required) or ``1795690800000``."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
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


def parse_window(text: str) -> Window:
    """A :class:`Window` from ``A..B``; :class:`ConfigError` saying what was expected."""
    start, sep, end = text.partition("..")
    if not sep:
        raise ConfigError(f"window {text!r}: expected START..END")
    start_ms, end_ms = parse_instant_ms(start), parse_instant_ms(end)
    if end_ms <= start_ms:
        raise ConfigError(f"window {text!r}: the end is not after the start")
    return Window(start_ms, end_ms)


def window_since(duration: str, at_ms: int | None = None) -> Window:
    """The window of length ``duration`` (``1h``) that ends at ``at_ms`` (default: now)."""
    try:
        seconds = parse_duration(duration.strip())
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    end = now_ms() if at_ms is None else at_ms
    return Window(end - seconds * 1000, end)
