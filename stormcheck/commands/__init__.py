"""One module per command group; each exposes ``COMMANDS``, collected by :func:`stormcheck.cli.build_cli`.

The state every command shares (the global options and the settings read from them) lives here,
below the command modules and :mod:`stormcheck.cli`, so that neither imports the other's user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from stormcheck.settings import Settings, load_settings

__all__ = ["CliState", "pass_state"]


@dataclass(slots=True)
class CliState:
    """The global options, and the settings read from them once, on first use."""

    profile: str | None
    profile_file: Path | None
    overrides: dict[str, str]
    _settings: Settings | None = field(default=None)

    def settings(self) -> Settings:
        """The settings: defaults < profile file < STORMCHECK_* < these options."""
        if self._settings is None:
            self._settings = load_settings(
                self.profile, overrides=self.overrides, profile_file=self.profile_file
            )
        return self._settings

    def with_overrides(self, **values: str) -> Settings:
        """The settings with command options of a sub-command applied on top."""
        self._settings = load_settings(
            self.profile, overrides={**self.overrides, **values}, profile_file=self.profile_file
        )
        return self._settings


pass_state = click.make_pass_decorator(CliState)
