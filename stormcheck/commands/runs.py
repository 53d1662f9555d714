"""``stormcheck runs list | show | baseline set | prune``: the run store (history of runs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from stormcheck.commands import CliState, pass_state
from stormcheck.runstore import RunStore, open_store

__all__ = ["COMMANDS"]


def _open(state: CliState) -> RunStore:
    from stormcheck.local.session import runs_dir

    store = open_store(runs_dir(state.settings()))
    try:
        store.sync()
    except BaseException:
        store.close()
        raise
    return store


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group()
def runs() -> None:
    """The run store: every run with its verdicts, and named baselines (reports/runstore.sqlite)."""


@runs.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """Every run, oldest first: when, stack, plan, state, outcome, exit code, baselines."""
    with _open(state) as store:
        stored = store.runs()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "run_id": r.run_id,
                        "created": _when(r.created_ms),
                        "stack": r.stack,
                        "plan": r.plan,
                        "state": r.state,
                        "outcome": r.outcome,
                        "exit_code": r.exit_code,
                        "score": r.score,
                        "verdicts": r.verdict_count,
                        "baselines": list(r.baselines),
                        "folder": str(r.folder) if r.folder_exists else None,
                    }
                    for r in stored
                ],
                indent=2,
            )
        )
        return
    if not stored:
        click.echo("no runs yet")
        return
    click.echo(f"{'run':24} {'created':21} {'stack':7} {'plan':12} {'state':8} {'outcome':12} exit")
    for r in stored:
        exit_code = "-" if r.exit_code is None else str(r.exit_code)
        tail = f"  baseline: {', '.join(r.baselines)}" if r.baselines else ""
        if not r.folder_exists:
            tail += "  (folder gone)"
        click.echo(
            f"{r.run_id:24} {_when(r.created_ms):21} {r.stack:7} {r.plan or '-':12}"
            f" {r.state:8} {r.outcome or '-':12} {exit_code}{tail}"
        )


@runs.command()
@click.argument("run_id")
@pass_state
def show(state: CliState, run_id: str) -> None:
    """One run: its verdicts (what each judged) and the judge's results per experiment."""
    with _open(state) as store:
        run = store.get(run_id)
        verdicts = store.verdicts(run.run_id)
        experiments = store.experiments(run.run_id)
    click.echo(f"run {run.run_id}  ({run.stack}, {run.state}, created {_when(run.created_ms)})")
    click.echo(f"  folder:  {run.folder}{'' if run.folder_exists else '  (gone)'}")
    click.echo(
        f"  plan:    {run.plan or '-'}  exit code: {'-' if run.exit_code is None else run.exit_code}"
    )
    click.echo(f"  commit:  {run.git_commit or 'unknown'}")
    if run.score is not None:
        click.echo(f"  resilience score: {run.score:.1f}/100")
    if run.baselines:
        click.echo(f"  baseline of: {', '.join(run.baselines)}")
    click.echo(f"  verdicts ({len(verdicts)}):")
    for v in verdicts:
        about = " ".join(
            part
            for part in (
                f"[{v.experiment}]" if v.experiment else "",
                f"slo={v.slo}" if v.slo else "",
                f"budget_spent={v.budget_spent:.2%}" if v.budget_spent is not None else "",
            )
            if part
        )
        click.echo(f"    {v.outcome:12} {v.name}  {about}".rstrip())
        click.echo(f"    {'':12} {v.reason}")
    if experiments:
        click.echo(f"  experiments ({len(experiments)}):")
        for e in experiments:
            detect = "-" if e.detect_s is None else f"{e.detect_s:.1f} s"
            recover = "-" if e.recover_s is None else f"{e.recover_s:.1f} s"
            click.echo(
                f"    {'met' if e.met else 'NOT MET':8} {e.experiment:28} detect {detect:>8}"
                f"  recover {recover:>8}  {e.result}"
            )


@runs.group()
def baseline() -> None:
    """Named baselines: runs that later runs are compared with."""


@baseline.command(name="set")
@click.argument("name")
@click.argument("run_id")
@pass_state
def set_command(state: CliState, name: str, run_id: str) -> None:
    """Name run RUN_ID (or a unique prefix) as baseline NAME; an earlier NAME is replaced."""
    with _open(state) as store:
        chosen = store.set_baseline(name, run_id)
    click.echo(f"baseline {chosen.name} -> run {chosen.run_id}")


@baseline.command(name="list")
@pass_state
def baseline_list(state: CliState) -> None:
    """Every named baseline and its run."""
    with _open(state) as store:
        found = store.baselines()
    for b in found:
        click.echo(f"{b.name:20} {b.run_id}  (set {_when(b.set_ms)})")
    if not found:
        click.echo("no baselines")


@runs.command()
@click.option(
    "--keep", type=click.IntRange(min=0), required=True, help="How many newest runs to keep."
)
@click.option("--dry-run", is_flag=True, help="Only say which runs would be removed.")
@pass_state
def prune(state: CliState, keep: int, dry_run: bool) -> None:
    """Remove all but the KEEP newest runs: their folders and their rows together.

    A baseline's run is kept, and so is a run that is not down while its owner lives.
    """
    with _open(state) as store:
        removed = store.prune(keep, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for run_id in removed:
        click.echo(f"{verb} {run_id}")
    click.echo(f"{verb} {len(removed)} run(s), kept the {keep} newest and every baseline")


COMMANDS = (runs,)
