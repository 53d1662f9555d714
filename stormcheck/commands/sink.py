"""``stormcheck sink RUN``: host a run's alert sink in the foreground.

A run started with ``stormcheck up`` outlives the command, and its Alertmanager delivers to the
webhook URL in the run file only while some harness process listens there. Whatever drives such
a run without the harness — a plain ``chaos run``, a person with ``curl`` — gets its detection
alerts on the run's timeline by keeping this command running beside it.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import click

from stormcheck.commands import CliState, pass_state

__all__ = ["COMMANDS"]

_POLL_S = 1.0


@click.command()
@click.argument("run_id", required=False)
@pass_state
@click.pass_context
def sink(ctx: click.Context, state: CliState, run_id: str | None) -> None:
    """Receive RUN's alerts (default: the one run that is up) until Ctrl-C or the run is down.

    Each alert goes on the run's timeline (timeline.jsonl) as it arrives. Exit 1 when another
    process already hosts the run's sink (it is left there).
    """
    from stormcheck.errors import RunNotFoundError
    from stormcheck.local.delivery import host_sink, listening_sink
    from stormcheck.local.engine import connect
    from stormcheck.local.session import runs_dir
    from stormcheck.runs import find_run

    folder = find_run(runs_dir(state.settings()), run_id)
    hosted = listening_sink(folder)
    if hosted:
        click.echo(f"run {folder.run_id}: its alert sink is already hosted at {hosted}; left there")
        ctx.exit(1)
    client = connect()
    try:
        receiver = host_sink(client, folder)
    finally:
        client.close()
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"run {folder.run_id}: alert sink listening at {receiver.url}")
    click.echo(f"  alerts go to {folder.timeline_path}; Ctrl-C stops it")
    reason = "stopped"
    try:
        while not stop.wait(_POLL_S):
            try:
                current = folder.read_manifest().state
            except RunNotFoundError:
                current = "down"
            if current in {"down", "failed"}:
                reason = f"run {folder.run_id} is {current}"
                break
    finally:
        receiver.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    received = len(receiver.notifications)
    click.echo(
        f"alert sink: {reason}; {received} notification(s) received at {time.strftime('%H:%M:%S')}"
    )


COMMANDS = (sink,)
