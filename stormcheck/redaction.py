"""Secrets out of everything the harness writes: one registry of known secret values, one filter.

The bottom of the engine's layers (it imports nothing of the engine), so every writer can use it.

**The registry.** :func:`register` adds a secret value to a process-wide set: the secrets the
settings reference (``env:NAME`` / ``file:PATH``, registered when the settings are read), and the
run's generated credentials (the database password; registered when a run file is written or
read). A value shorter than :data:`MIN_SECRET_LENGTH` is refused: masking it would blank common
text, and keeping it would leak it.

**The filter.** :func:`redact` replaces every registered value in a text with :data:`MASK` — as
written, URL-encoded (as it stands in a URL's userinfo) and JSON-escaped (as it stands inside a
JSON string). Every writer of the run folder applies it: the run file and ``verdicts.json``, the
timeline, the journals, the load runner's output files (:func:`redact_file` after the load
process ends: Locust writes them in a subprocess), the log records of the process
(:func:`install_log_redaction`). A reports writer calls :func:`redact` (text) or
:func:`redact_bytes` (an attachment) on everything it writes.

:func:`split_password` takes the password out of a URL's userinfo and returns both parts;
:func:`with_password` puts it back, on use, where a client needs it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "Secret",
    "find_secrets",
    "install_log_redaction",
    "redact",
    "redact_bytes",
    "redact_file",
    "redact_files",
    "register",
    "registered",
    "split_password",
    "with_password",
]

MASK = "********"
MIN_SECRET_LENGTH = 6


class _Registry:
    """The process-wide known secrets, and every spelling of them (longest first)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: set[str] = set()
        self.forms: tuple[str, ...] = ()
        self.bytes_forms: tuple[bytes, ...] = ()
        self.logs_redacted = False


_REGISTRY = _Registry()


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret the settings reference: its name, where it comes from, and (hidden) its value.

    ``str()`` and ``repr()`` show the reference (``env:SHOP_TOKEN``), never the value; a
    client asks for :meth:`reveal` where it needs it.
    """

    name: str
    reference: str
    value: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.reference

    def reveal(self) -> str:
        """The secret value, for the one client that needs it."""
        return self.value


def _spellings(value: str) -> set[str]:
    return {value, quote(value, safe=""), json.dumps(value, ensure_ascii=False)[1:-1]} | {
        json.dumps(value)[1:-1]
    }


def register(value: str) -> None:
    """Add ``value`` to the known secrets (idempotent); ``ValueError`` when it is too short."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"a secret must be at least {MIN_SECRET_LENGTH} characters long to be redacted safely"
        )
    with _REGISTRY.lock:
        if value in _REGISTRY.values:
            return
        _REGISTRY.values.add(value)
        forms = set().union(*(_spellings(v) for v in _REGISTRY.values))
        _REGISTRY.forms = tuple(sorted(forms, key=lambda f: (-len(f), f)))
        _REGISTRY.bytes_forms = tuple(f.encode("utf-8") for f in _REGISTRY.forms)


def registered() -> frozenset[str]:
    """The known secret values (for tests that check nothing leaked)."""
    with _REGISTRY.lock:
        return frozenset(_REGISTRY.values)


def redact(text: str) -> str:
    """``text`` with every known secret (in every spelling) replaced by :data:`MASK`."""
    for form in _REGISTRY.forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for bytes (an attachment, a file): secrets as their UTF-8 bytes."""
    mask = MASK.encode()
    for form in _REGISTRY.bytes_forms:
        if form in data:
            data = data.replace(form, mask)
    return data


def redact_file(path: Path) -> bool:
    """Rewrite ``path`` without known secrets (atomically); whether it held any."""
    if not _REGISTRY.bytes_forms:
        return False
    data = path.read_bytes()
    clean = redact_bytes(data)
    if clean == data:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.redacting")
    tmp.write_bytes(clean)
    os.chmod(tmp, path.stat().st_mode & 0o777)
    tmp.replace(path)
    return True


def redact_files(paths: Iterable[Path]) -> list[Path]:
    """:func:`redact_file` on each regular file of ``paths`` (folders walked); those rewritten."""
    rewritten: list[Path] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        rewritten.extend(f for f in files if f.is_file() and redact_file(f))
    return rewritten


def find_secrets(paths: Iterable[Path], secrets: Iterable[str]) -> list[tuple[Path, int]]:
    """Every file under ``paths`` (folders walked) holding one of ``secrets`` in any spelling
    :func:`redact` masks, with the index of the secret found (never the value, so it can be
    reported)."""
    values = list(secrets)
    needles = [[form.encode("utf-8") for form in _spellings(value)] for value in values]
    found: list[tuple[Path, int]] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                continue
            data = file.read_bytes()
            found.extend(
                (file, index)
                for index, forms in enumerate(needles)
                if any(f in data for f in forms)
            )
    return found


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever handler writes it (idempotent).

    A log record factory: the message is formatted with its arguments and redacted when the
    record is made, so no handler (stormcheck's, chaoslib's, pytest's) sees a secret.
    """
    with _REGISTRY.lock:
        if _REGISTRY.logs_redacted:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _REGISTRY.forms:
                message = record.getMessage()
                clean = redact(message)
                if clean != message:
                    record.msg, record.args = clean, None
                if record.exc_info and not record.exc_text:
                    record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(factory)
        _REGISTRY.logs_redacted = True


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
