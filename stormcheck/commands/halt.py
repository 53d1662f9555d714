"""``stormcheck halt [--clear]``: the kill switch of this machine's runs folder."""

from __future__ import annotations

import click

from stormcheck.commands import CliState, pass_state

__all__ = ["COMMANDS"]


@click.command()
@click.option("--clear", is_flag=True, help="Lift the kill switch.")
@click.option("--reason", default="stormcheck halt", show_default=True, help="Why (recorded).")
@pass_state
def halt(state: CliState, clear: bool, reason: str) -> None:
    """Pull the kill switch: no new run starts (`up`, `experiment run`, `load`, `run`), and every
    experiment running against a run of this runs folder aborts at its next stop-condition check
    (within a few seconds) and rolls back.

    Scope: the runs folder of these settings (`<runs_dir>/HALT`; by default reports/runs of this
    checkout) — the runs started from it on this machine. Runs of another runs folder and remote
    targets are not covered. `--clear` lifts it.
    """
    from stormcheck.chaos.halt import clear as clear_halt
    from stormcheck.chaos.halt import halt as pull
    from stormcheck.chaos.halt import halt_path

    settings = state.settings()
    if clear:
        lifted = clear_halt(settings)
        click.echo(
            f"lifted: {lifted.explain()}" if lifted else f"not halted ({halt_path(settings)})"
        )
        return
    click.echo(pull(settings, reason).explain())


COMMANDS = (halt,)
