"""Leases of processes that no longer run, for ledger and janitor tests."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from stormcheck.runs import Lease

__all__ = ["dead_lease"]


def dead_lease() -> Lease:
    """The lease of a process that ran on this machine and has ended (a holder that is gone)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dataclasses.replace(Lease.for_current_process(), pid=int(done.stdout), pid_start=1)
