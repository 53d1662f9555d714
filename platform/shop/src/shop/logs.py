"""Structured JSON logging: one object per line on stdout, tagged with the request's correlation id."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The correlation id of the request being served in this task (None outside requests).
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Standard LogRecord attributes, and uvicorn's ANSI-coloured duplicate of the message.
_IGNORED = frozenset(vars(logging.makeLogRecord({}))) | {"color_message"}


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; extra attributes become top-level fields."""

    def __init__(self, static_fields: dict[str, str]) -> None:
        super().__init__()
        self._static = static_fields

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for `record`."""
        document: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
            **self._static,
        }
        for key, value in vars(record).items():
            if key not in _IGNORED and key not in document and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, separators=(",", ":"))


def configure_logging(level: str, replica: str, zone: str) -> None:
    """Send every logger (ours, uvicorn's, libraries') through one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter({"service": "shop", "replica": replica, "zone": zone}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # The request middleware writes the access line itself, with route and duration.
    logging.getLogger("uvicorn.access").disabled = True
