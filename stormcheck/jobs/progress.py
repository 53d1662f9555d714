"""What a person sees while a plan runs.

On a terminal, a live status line (rich): the phase, step n of m, the elapsed time and the
current experiment's fault window, with the job's lines scrolling above it. Elsewhere (CI logs,
a pipe), plain lines, each with its UTC time, and the status changes as lines of their own.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["Display", "LineDisplay", "LiveDisplay", "choose_display"]


def _clock(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%H:%M:%S")


class Display(Protocol):
    """Where the runner reports: lines, the step it is on, and an experiment's fault window."""

    def line(self, text: str) -> None:
        """One line of what happens."""

    def step(self, number: int, total: int, kind: str, budget_s: int) -> None:
        """Step ``number`` of ``total`` starts."""

    def fault_window(self, experiment: str, start_ms: int | None, end_ms: int | None) -> None:
        """The current experiment's fault window (``None``: not started / not ended yet)."""

    def close(self) -> None:
        """The run is over: stop any live display."""


class LineDisplay:
    """Plain lines with a UTC timestamp, for logs."""

    def __init__(self, stream: TextIO | None = None, *, plan: str = "") -> None:
        self._out = stream or sys.stdout
        self._plan = plan
        self._started = time.monotonic()

    def _write(self, text: str) -> None:
        stamp = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for part in text.splitlines() or [""]:
            self._out.write(f"{stamp} {part}\n")
        self._out.flush()

    def line(self, text: str) -> None:
        """One timestamped line."""
        self._write(text)

    def step(self, number: int, total: int, kind: str, budget_s: int) -> None:
        """A line saying which step starts, with the elapsed time and the step's budget."""
        elapsed = time.monotonic() - self._started
        self._write(
            f"[{self._plan} step {number}/{total}] {kind} (budget {budget_s} s,"
            f" elapsed {elapsed:.0f} s)"
        )

    def fault_window(self, experiment: str, start_ms: int | None, end_ms: int | None) -> None:
        """A line per change of the fault window."""
        if start_ms is None:
            return
        end = "..." if end_ms is None else _clock(end_ms)
        self._write(f"fault window of {experiment}: {_clock(start_ms)} - {end}")

    def close(self) -> None:
        """Nothing to stop."""


class LiveDisplay:
    """A live status line on a terminal, lines printed above it."""

    def __init__(self, console: Console | None = None, *, plan: str = "") -> None:
        self._console = console or Console()
        self._plan = plan
        self._started = time.monotonic()
        self._phase = "starting"
        self._position = ""
        self._fault = ""
        self._live = Live(
            self._render(), console=self._console, refresh_per_second=2, transient=True
        )
        self._live.start()

    def _render(self) -> Text:
        elapsed = time.monotonic() - self._started
        status = Text()
        status.append(f" {self._plan} ", style="bold reverse")
        status.append(f" {self._position} {self._phase} ", style="bold")
        status.append(f" elapsed {int(elapsed // 60)}:{int(elapsed % 60):02d} ")
        if self._fault:
            status.append(f" {self._fault}", style="yellow")
        return status

    def _refresh(self) -> None:
        self._live.update(self._render())

    def line(self, text: str) -> None:
        """A line above the status."""
        self._console.print(Text(text))
        self._refresh()

    def step(self, number: int, total: int, kind: str, budget_s: int) -> None:
        """The status shows the new step."""
        self._phase = f"{kind} (budget {budget_s} s)"
        self._position = f"step {number}/{total}"
        self._fault = ""
        self._refresh()

    def fault_window(self, experiment: str, start_ms: int | None, end_ms: int | None) -> None:
        """The status shows the experiment and its fault window."""
        if start_ms is None:
            self._fault = f"{experiment}: before the fault"
        else:
            end = "now" if end_ms is None else _clock(end_ms)
            self._fault = f"{experiment}: fault {_clock(start_ms)} - {end}"
        self._refresh()

    def close(self) -> None:
        """Stop the live status."""
        self._live.stop()


def choose_display(stream: TextIO | None = None, *, plan: str = "") -> Display:
    """A live display when ``stream`` (default stdout) is a terminal, plain lines otherwise."""
    out = stream or sys.stdout
    if out.isatty():
        return LiveDisplay(Console(file=out), plan=plan)
    return LineDisplay(out, plan=plan)
