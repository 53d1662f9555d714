"""Activities for the signal and stop-condition tests of chaoslib's own machinery: each writes a
line to the file named by ``STORMCHECK_TEST_TRACE`` so a test can see what ran."""

import os
import time


def _trace(line: str) -> None:
    with open(os.environ["STORMCHECK_TEST_TRACE"], "a", encoding="utf-8") as out:
        out.write(line + "\n")


def step(label: str, seconds: float = 0.0) -> str:
    """Note ``label``, then sleep ``seconds``; noted again when done."""
    _trace(f"start {label}")
    time.sleep(seconds)
    _trace(f"end {label}")
    return label


def signal_self(label: str, signum: int, seconds: float = 0.5) -> str:
    """Note ``label``, send ``signum`` to this process, then go on for ``seconds``."""
    _trace(f"start {label}")
    os.kill(os.getpid(), signum)
    time.sleep(seconds)
    _trace(f"end {label}")
    return label


__all__ = ["signal_later", "signal_self", "step"]


def signal_later(label: str, signum: int, after_s: float = 0.5) -> str:
    """Note ``label``; ``after_s`` later another thread sends ``signum`` to this process (as a
    tripped stop condition does)."""
    import threading

    _trace(f"start {label}")
    threading.Timer(after_s, os.kill, (os.getpid(), signum)).start()
    return label
