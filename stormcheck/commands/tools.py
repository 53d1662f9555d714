"""``stormcheck tools install|list``: pinned tools, cached by version."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.tools import TOOLS, install_tool, tool_path

__all__ = ["COMMANDS"]


@click.group()
def tools() -> None:
    """Install and list the pinned tools the harness uses."""


@tools.command("install")
@click.argument("names", nargs=-1, type=click.Choice(sorted(TOOLS)))
@pass_state
def install(state: CliState, names: tuple[str, ...]) -> None:
    """Install NAMES (default: all) at their pinned versions, unless already cached."""
    settings = state.settings()
    for name in names or tuple(TOOLS):
        bin_dir = install_tool(name, settings.cache_dir, go_proxy=settings.go_proxy)
        click.echo(f"{name} {TOOLS[name].version}: {bin_dir}")


@tools.command("list")
@pass_state
def list_(state: CliState) -> None:
    """Show each tool's pinned version and whether it is installed."""
    cache_dir = state.settings().cache_dir
    for name, tool in TOOLS.items():
        present = all(tool_path(name, b, cache_dir) for b in tool.binaries)
        click.echo(f"{name:12} {tool.version:10} {'installed' if present else 'missing'}")


COMMANDS = (tools,)
