"""``stormcheck images build|list|prune``: the image catalogue of the local platform."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.local.catalogue import read_catalogue
from stormcheck.local.engine import connect
from stormcheck.local.images import (
    base_tag,
    debian_mirror,
    detect_mode,
    ensure_base,
    plan_images,
    remove_project_images,
)
from stormcheck.local.session import prepare_images
from stormcheck.paths import catalogue_path, project_root

__all__ = ["COMMANDS"]


@click.group()
def images() -> None:
    """Build and list the images of the local platform (registry or offline mode)."""


@images.command("build")
@click.argument("roles", nargs=-1)
@pass_state
def build(state: CliState, roles: tuple[str, ...]) -> None:
    """Build every role's image that is missing (or just ROLES); cached ones are kept."""
    settings = state.settings()
    catalogue = read_catalogue(catalogue_path(), project_root())
    for role in roles:
        catalogue.role(role)
    client = connect()
    try:
        _, results = prepare_images(
            settings, client, catalogue=catalogue, roles=roles, progress=click.echo
        )
    finally:
        client.close()
    for result in results:
        click.echo(f"{result.action:7} {result.role:12} {result.ref}  {result.seconds:.1f} s")
    built = sum(r.action != "cached" for r in results)
    click.echo(f"{built} built, {len(results) - built} cached")


@images.command("list")
@pass_state
def list_(state: CliState) -> None:
    """Show each role's image in the current mode and whether it is present."""
    settings = state.settings()
    catalogue = read_catalogue(catalogue_path(), project_root())
    mode = detect_mode(settings.image_mode, settings.container_registry)
    client = connect()
    try:
        if mode == "offline" and not client.images.list(name=base_tag(catalogue.base)):
            click.echo(
                f"mode {mode}: base {base_tag(catalogue.base)} missing; run `stormcheck images build`"
            )
            return
        base = ensure_base(
            client,
            catalogue,
            mode,
            mirror=debian_mirror(settings.debian_mirror),
            work_dir=settings.cache_dir / "build",
        )
        click.echo(f"mode {mode}, base {base[0]}")
        for plan in plan_images(client, catalogue, mode, base):
            click.echo(
                f"{'present' if plan.present else 'missing':8} {plan.role.name:12} {plan.ref}"
            )
    finally:
        client.close()


@images.command("prune")
def prune() -> None:
    """Remove every image the project built (labelled stormcheck.managed=true)."""
    client = connect()
    try:
        removed = remove_project_images(client)
    finally:
        client.close()
    click.echo(f"removed {len(removed)} image(s)")


COMMANDS = (images,)
