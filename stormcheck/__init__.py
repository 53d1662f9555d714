"""stormcheck: provision a platform, drive load through it, break it, and judge its SLOs."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
