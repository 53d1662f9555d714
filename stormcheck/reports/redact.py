"""The one filter every attachment passes through before it is written.

Every secret the process knows (:func:`stormcheck.redaction.redact`: settings secrets, referenced
environment and file secrets, the run's generated passwords) is masked; beyond those, URLs lose
the password of their userinfo and ``password=``/``token=``-style assignments their value, for
secrets of a platform this process never registered. Reports call :func:`redact_text` only.
"""

from __future__ import annotations

import re

from stormcheck.redaction import redact, split_password

__all__ = ["MASK", "redact_text"]

MASK = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\"?\s*[:=]\s*\"?)([^\s\"',;&]+)"
)


def _mask_url(match: re.Match[str]) -> str:
    url = match.group(0)
    public, password = split_password(url)
    if password is None:
        return url
    user, _, rest = public.partition("@")
    return f"{user}:{MASK}@{rest}"


def redact_text(text: str) -> str:
    """``text`` with URL passwords and secret assignments masked."""
    text = _URL.sub(_mask_url, redact(text))
    return _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
