"""``stormcheck slo validate|rules``: check SLO files and generate their Prometheus rules."""

from __future__ import annotations

from pathlib import Path

import click

from stormcheck.paths import project_root
from stormcheck.slo.loader import read_slo_files, read_slos, slo_files
from stormcheck.slo.rules import render_rule_file, skipped_slos

__all__ = ["COMMANDS", "default_slo_dir"]


def default_slo_dir() -> Path:
    """``platform/slo/`` of the project."""
    return project_root() / "platform" / "slo"


@click.group()
def slo() -> None:
    """SLO definitions (OpenSLO v1): validate them, generate their rules."""


@slo.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-promql", is_flag=True, help="Skip the PromQL check (needs promtool).")
def validate(files: tuple[Path, ...], no_promql: bool) -> None:
    """Check SLO FILES (or folders of them): one located line per problem; exit 1 if any."""
    result = read_slo_files(slo_files(files), check_promql=not no_promql)
    for problem in result.problems:
        click.echo(str(problem))
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s)", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"{len(result.slos)} SLO(s) valid", err=True)


@slo.command("rules")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rule file here (default: standard output).",
)
def rules(paths: tuple[Path, ...], output: Path | None) -> None:
    """Generate the Prometheus rule file for the SLOs of PATHS (default: platform/slo/)."""
    slos = read_slos(slo_files(paths or (default_slo_dir(),)))
    text = render_rule_file(slos)
    skipped = skipped_slos(slos)
    for slo, why in skipped:
        click.echo(f"note: {slo.located}: {slo.name} skipped: {why}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(slos) - len(skipped)} SLO(s) -> {output}", err=True)


COMMANDS = (slo,)
