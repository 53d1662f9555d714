"""``stormcheck up|down|status``: the local platform's life cycle."""

from __future__ import annotations

import json

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.commands.janitor import run_janitor
from stormcheck.local.engine import connect
from stormcheck.local.platform import component_health, refresh_endpoints
from stormcheck.local.session import reap_runs, runs_dir
from stormcheck.local.stacks import components_for, in_role
from stormcheck.runs import find_run
from stormcheck.settings import STACKS
from stormcheck.targets import open_target

__all__ = ["COMMANDS"]


@click.command()
@click.option(
    "--stack", type=click.Choice(STACKS), help="Stack size (default: the setting `stack`)."
)
@click.option("--only", multiple=True, help="Start only these components (repeatable).")
@pass_state
def up(state: CliState, stack: str | None, only: tuple[str, ...]) -> None:
    """Start a new run of the local platform; it lives until `stormcheck down`."""
    settings = state.settings()
    if stack:
        settings = state.with_overrides(stack=stack)
    from stormcheck.chaos.halt import check_not_halted

    check_not_halted(settings, "a run (up)")
    target = open_target(settings)
    run_janitor(settings, echo=click.echo)
    folder, manifest = target.provision(owner="user", only=only, progress=click.echo)
    from stormcheck.local.provenance import record_provenance

    client = connect()
    try:
        record_provenance(client, settings, folder)
    finally:
        client.close()
    click.echo(f"run {manifest.run_id} is up ({folder.root}); provenance in its run file")
    # The run file's URLs, without the generated passwords (kept in the credentials file).
    for name, record in manifest.components.items():
        for endpoint, url in record.endpoints.items():
            click.echo(f"  {name:12} {endpoint:12} {url}")
    if manifest.credentials:
        click.echo(f"  credentials: {folder.credentials_path} (readable by you only)")


@click.command()
@click.argument("run_id", required=False)
@click.option("--all", "all_runs", is_flag=True, help="Every run whose owner process is gone.")
@click.option("--user", "user_runs", is_flag=True, help="With --all: also runs started by `up`.")
@click.option("--force", is_flag=True, help="With --all: every run, even of a live owner.")
@click.option(
    "--no-retain",
    "no_retain",
    is_flag=True,
    help="Keep no evidence (metrics, log documents) in the run folder before removing the run.",
)
@pass_state
def down(
    state: CliState,
    run_id: str | None,
    *,
    all_runs: bool,
    user_runs: bool,
    force: bool,
    no_retain: bool,
) -> None:
    """Remove a run's containers, network and volumes (default: the one run that is up).

    First the run's Prometheus data and log documents are kept in its folder (``evidence/``),
    so that ``stormcheck gate --run RUN`` still works afterwards; ``--no-retain`` skips that.
    ``--all`` reaps the runs whose owner process is gone (a test session or `stormcheck run` that
    crashed); runs started by a user with `up` stay until named, or until ``--all --user``.
    """
    settings = state.settings()
    if all_runs:
        for result in reap_runs(settings, force=force, include_user_runs=user_runs):
            click.echo(
                f"{'removed' if result.removed else 'kept':8} {result.run_id}  ({result.reason})"
            )
        from stormcheck.chaos.janitor import end_generators

        for pid in end_generators():
            click.echo(f"ended    load generator pid {pid}  (its owner is gone)")
        return
    folder = find_run(runs_dir(settings), run_id)
    if not no_retain:
        from stormcheck.reports.retention import retain_before_down

        retain_before_down(folder, progress=click.echo)
    removed = open_target(settings).teardown(folder)
    click.echo(f"run {folder.run_id} is down ({len(removed)} resources removed)")


@click.command()
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_state
@click.pass_context
def status(ctx: click.Context, state: CliState, run_id: str | None, as_json: bool) -> None:
    """Check every component of a run (default: the one run that is up); exit 1 if unhealthy."""
    settings = state.settings()
    folder = find_run(runs_dir(settings), run_id)
    manifest = folder.read_manifest()
    checks = {
        c.name: in_role(c) for c in components_for(manifest.stack, only=tuple(manifest.components))
    }
    client = connect()
    try:
        moved = refresh_endpoints(client, folder, manifest, checks)
        report = component_health(client, manifest, checks)
    finally:
        client.close()
    healthy = bool(report) and all(h.healthy for h in report)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": manifest.run_id,
                    "state": manifest.state,
                    "healthy": healthy,
                    "moved": moved,
                    "components": [
                        {"name": h.name, "state": h.state, "healthy": h.healthy, "detail": h.detail}
                        for h in report
                    ],
                },
                indent=2,
            )
        )
    else:
        click.echo(
            f"run {manifest.run_id} ({manifest.stack}, {manifest.state}): {'healthy' if healthy else 'UNHEALTHY'}"
        )
        for name, endpoints in moved.items():
            where = ", ".join(f"{k} {v}" for k, v in endpoints.items())
            click.echo(f"  {name}: restarted on new host ports, run file updated: {where}")
        for h in report:
            click.echo(
                f"  {h.name:12} {h.state:9} {'ok' if h.healthy else 'NOT READY'}  {h.detail}"
            )
    ctx.exit(0 if healthy else 1)


@click.command()
@click.argument("run_id")
@pass_state
@click.pass_context
def attach(ctx: click.Context, state: CliState, run_id: str) -> None:
    """Check that run RUN_ID is up and print how to reach it (endpoints, environment, pytest)."""
    folder = find_run(runs_dir(state.settings()), run_id)
    manifest = folder.read_manifest()
    if manifest.state != "up":
        click.echo(f"run {manifest.run_id} is {manifest.state}, not up", err=True)
        ctx.exit(1)
    click.echo(
        f"# run {manifest.run_id} ({manifest.stack}), owner: {manifest.lease.kind} {manifest.lease.pid}"
    )
    for name, record in manifest.components.items():
        for endpoint, url in record.endpoints.items():
            click.echo(f"#   {name:12} {endpoint:12} {url}")
            setting = _URL_SETTINGS.get(endpoint)
            if setting:
                click.echo(f"export STORMCHECK_{setting.upper()}={url}")
    click.echo(f"# tests against it: pytest --attach {manifest.run_id}")


# endpoint name → the setting that points the harness at it (`attach` prints the exports)
_URL_SETTINGS = {
    "prometheus": "prometheus_url",
    "alertmanager": "alertmanager_url",
    "opensearch": "logstore_url",
}

COMMANDS = (up, down, status, attach)
