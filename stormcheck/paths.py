"""Where the project's own files are: the repository root the engine runs from."""

from __future__ import annotations

from pathlib import Path

__all__ = ["catalogue_path", "project_root"]


def project_root() -> Path:
    """The repository root: the folder holding ``stormcheck/`` and ``platform/``."""
    return Path(__file__).resolve().parent.parent


def catalogue_path(root: Path | None = None) -> Path:
    """The image catalogue of the local platform."""
    return (root or project_root()) / "platform" / "local" / "images" / "catalogue.toml"
