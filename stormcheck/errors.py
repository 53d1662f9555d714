"""The one exception tree of the engine.

    StormcheckError                 root: every error the engine raises on purpose
    ├── ConfigError                 a setting, profile file or input file is wrong (names file/key/source)
    ├── DockerUnavailableError      no Docker engine answers and none could be started
    ├── ToolInstallError            a tool (Go, apt, pip, ...) could not be installed
    ├── ImageBuildError             an image of the catalogue could not be built
    ├── PlatformError               a platform could not be brought up or down
    │   └── NotReadyError           a component did not become ready in time
    ├── RunNotFoundError            a run id that no run folder or label matches
    └── BackendError                a backend the harness talks to (Toxiproxy, Prometheus, ...)
                                    answered with an error, or not at all

Foreign exceptions are wrapped where they enter the engine (clients, runners), with
``raise ... from exc`` so the original stays visible.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "DockerUnavailableError",
    "ImageBuildError",
    "NotReadyError",
    "PlatformError",
    "RunNotFoundError",
    "StormcheckError",
    "ToolInstallError",
]


class StormcheckError(Exception):
    """Root of every error raised by the engine on purpose."""


class ConfigError(StormcheckError):
    """A setting, profile or input file is invalid; the message names where and what was expected."""


class DockerUnavailableError(StormcheckError):
    """No Docker engine answers, and none could be started."""


class ToolInstallError(StormcheckError):
    """A tool the harness needs could not be installed."""


class ImageBuildError(StormcheckError):
    """An image of the catalogue could not be built."""


class PlatformError(StormcheckError):
    """A platform could not be brought up, inspected or torn down."""


class NotReadyError(PlatformError):
    """A component did not pass its readiness check within its timeout."""


class RunNotFoundError(StormcheckError):
    """No run matches the given id."""


class BackendError(StormcheckError):
    """A backend the harness talks to answered with an error, or not at all."""
