"""The log index template: one JSON file shared by the local shipper and the Helm side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stormcheck.errors import ConfigError
from stormcheck.paths import project_root

__all__ = ["TEMPLATE_NAME", "read_index_template", "template_path"]

TEMPLATE_NAME = "stormcheck-logs"


def template_path(root: Path | None = None) -> Path:
    """``platform/observability/logs/index-template.json`` under the project root."""
    return (root or project_root()) / "platform" / "observability" / "logs" / "index-template.json"


def read_index_template(path: Path | None = None) -> dict[str, Any]:
    """The composable index template's body; :class:`ConfigError` names the file and the fault."""
    path = path or template_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"log index template {path}: not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"log index template {path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"log index template {path}: expected a JSON object")
    for key in ("index_patterns", "template"):
        if key not in data:
            raise ConfigError(f"log index template {path}: missing field {key!r}")
    properties = data["template"].get("mappings", {}).get("properties")
    if not isinstance(properties, dict) or "@timestamp" not in properties:
        raise ConfigError(
            f"log index template {path}: template.mappings.properties must map '@timestamp'"
        )
    return data
