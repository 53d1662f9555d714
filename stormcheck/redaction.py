"""Secrets out of everything the harness writes: URLs without their passwords.

The bottom of the engine's layers (it imports nothing of the engine), so every writer can use it:
the run file today; the timeline, the terminal and the reports as they need it.

:func:`split_password` takes the password out of a URL's userinfo and returns both parts;
:func:`with_password` puts it back, on use, where a client needs it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = ["split_password", "with_password"]


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
