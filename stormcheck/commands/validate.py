"""``stormcheck validate FILE...``: check any input file, its kind detected, one located line each.

Kinds: ``settings`` (a settings profile file, ``*.toml``), ``plan`` (``plan:`` at the top),
``load-shape`` (``shape:`` and ``stages:``), ``slo`` (OpenSLO ``apiVersion`` or a Sloth
``version``), ``experiment`` (a Chaos Toolkit experiment: ``method`` or
``steady-state-hypothesis``). ``--kind`` says it when the file does not.
"""

from __future__ import annotations

from pathlib import Path

import click
from yaml.nodes import MappingNode

from stormcheck.errors import ConfigError
from stormcheck.inputs import InputError, Problem, describe_node, read_documents
from stormcheck.paths import project_root

__all__ = ["COMMANDS", "KINDS", "detect_kind", "validate_file"]

KINDS = ("settings", "plan", "load-shape", "slo", "experiment", "expectations")


def detect_kind(path: Path) -> str:
    """The kind of input file ``path`` is; :class:`InputError` when it cannot be told."""
    if path.suffix == ".toml":
        return "settings"
    documents = list(read_documents(path, what="an input file"))
    if not documents:
        raise InputError([Problem(file=path, line=None, field="", message="no YAML document")])
    node = documents[0][0]  # an SLO file may hold several documents; the first tells the kind
    if not isinstance(node, MappingNode):
        raise InputError(
            [
                Problem(
                    file=path,
                    line=node.start_mark.line + 1,
                    field="document",
                    message=f"expected a mapping, got {describe_node(node)}",
                )
            ]
        )
    keys = {str(k.value) for k, _ in node.value}
    if "plan" in keys:
        return "plan"
    if "rows" in keys and "lists" in keys:
        return "expectations"
    if "shape" in keys or "stages" in keys:
        return "load-shape"
    if keys & {"method", "steady-state-hypothesis", "rollbacks", "title"}:
        return "experiment"
    if "apiVersion" in keys or "version" in keys:
        return "slo"
    raise InputError(
        [
            Problem(
                file=path,
                line=node.start_mark.line + 1,
                field="document",
                message="cannot tell what kind of file this is (no plan, shape, method or"
                f" apiVersion at the top); give --kind ({', '.join(KINDS)})",
            )
        ]
    )


def validate_file(path: Path, kind: str | None = None) -> list[str]:
    """Every problem of ``path`` as a located line (empty: valid)."""
    try:
        kind = kind or detect_kind(path)
        if kind == "settings":
            from stormcheck.settings import validate_profile_file

            validate_profile_file(path)
        elif kind == "plan":
            from stormcheck.load.scenarios import SCENARIOS
            from stormcheck.plans import read_plan, reference_problems

            plan = read_plan(path)
            folder = project_root() / "experiments" / "local"
            problems = reference_problems(plan, scenarios=SCENARIOS, experiments_folder=folder)
            return [str(p) for p in problems]
        elif kind == "load-shape":
            from stormcheck.load.shape_file import read_shape

            read_shape(path)
        elif kind == "expectations":
            from stormcheck.judge import read_expectations

            read_expectations(path)
        elif kind == "slo":
            from stormcheck.slo.loader import read_slo_files

            return [str(p) for p in read_slo_files([path], check_promql=False).problems]
        else:
            from stormcheck.chaos.experiment import chaoslib_problems
            from stormcheck.chaos.experiment_file import check_experiment, read_experiment

            found = check_experiment(path)
            return found or chaoslib_problems(read_experiment(path).document, path)
    except InputError as exc:
        return [str(p) for p in exc.problems]
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="The files' kind (default: detected).")
def validate(files: tuple[Path, ...], kind: str | None) -> None:
    """Check input FILES (settings profile, plan, load shape, SLO, experiment, expected outcomes):
    one located line per problem (file:line: field: message); exit 1 when any."""
    problems = [line for path in files for line in validate_file(path, kind)]
    for line in problems:
        click.echo(line)
    click.echo(f"{len(files)} file(s), {len(problems)} problem(s)", err=True)
    if problems:
        raise click.exceptions.Exit(1)


COMMANDS = (validate,)
