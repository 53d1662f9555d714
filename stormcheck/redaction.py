"""Secrets out of everything the harness writes: URLs without their passwords, text without secrets.

The bottom of the engine's layers (it imports nothing of the engine), so every writer can use it:
the run file, the timeline, the terminal, and the reports to come.

- :func:`split_password` takes the password out of a URL's userinfo and returns both parts;
  :func:`with_password` puts it back, on use, where a client needs it.
- :func:`redact` replaces every occurrence of the given secrets in a text with ``***``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = ["MASK", "redact", "split_password", "with_password"]

MASK = "***"


def split_password(url: str) -> tuple[str, str | None]:
    """``url`` without the password of its userinfo, and that password (``None``: it had none).

    ``postgresql://postgres:s3cret@127.0.0.1:5432/shop`` → (``postgresql://postgres@127.0.0.1:5432/shop``,
    ``s3cret``). A URL without a password comes back unchanged.
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}@{hostport}" if user else hostport
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` in its userinfo (unchanged when ``password`` is ``None``)."""
    if password is None:
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", parts.netloc
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (longest first) replaced by ``***``.

    Secrets shorter than four characters are ignored: masking them would mask ordinary words.
    """
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        quoted = quote(secret, safe="")
        if quoted != secret:
            text = text.replace(quoted, MASK)
    return text
