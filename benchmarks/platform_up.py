"""``up_full``: ``up`` of the full stack (design §3) until every readiness check passes, images built.

Target: at most 60 s. The baseline is ``up`` of the minimal stack in the same run, so the ratio says
what the HA roles cost on this machine. Every repetition also keeps how long each component took
to become ready, so a slow member is visible.

Results: ``benchmarks/results/<UTC date>-up_full.json`` (same shape as the other benchmarks, plus
``components_s``: per repetition, component → seconds to ready).
"""

from __future__ import annotations

import dataclasses
import statistics
import time

from benchmarks.record import record
from stormcheck.local.engine import connect
from stormcheck.local.session import bring_down, bring_up, prepare_images
from stormcheck.local.stacks import components_for
from stormcheck.settings import Settings, Stack, load_settings

__all__ = ["TARGET_S", "bench_up_full"]

REPEAT = 3
TARGET_S = 60.0


def _up_down(settings: Settings, stack: Stack) -> tuple[float, dict[str, float]]:
    """Seconds from ``bring_up`` to every component ready, and each component's ready time."""
    settings = dataclasses.replace(settings, stack=stack)
    started = time.perf_counter()
    folder, manifest = bring_up(settings, owner="process")
    elapsed = time.perf_counter() - started
    try:
        ready = {name: record.ready_s for name, record in manifest.components.items()}
    finally:
        bring_down(settings, folder)
    return elapsed, ready


def bench_up_full() -> None:
    """Median ``up`` of the full stack against the minimal one; writes the result file."""
    settings = load_settings()
    client = connect()
    try:
        roles = {c.role for stack in ("full", "minimal") for c in components_for(stack)}
        prepare_images(settings, client, roles=tuple(sorted(roles)))
    finally:
        client.close()
    subject: list[float] = []
    components: list[dict[str, float]] = []
    baseline: list[float] = []
    for _ in range(REPEAT):
        seconds, ready = _up_down(settings, "full")
        subject.append(seconds)
        components.append(ready)
        baseline.append(_up_down(settings, "minimal")[0])
    median = statistics.median(subject)
    record(
        "up_full",
        subject,
        baseline,
        f"bring_up of the full stack vs the minimal one (target <= {TARGET_S:g} s)",
        summary=f"target {TARGET_S:g} s",
        target_s=TARGET_S,
        within_target=median <= TARGET_S,
        components_s=components,
    )


if __name__ == "__main__":
    bench_up_full()
