"""Recording SLO verdicts in a run: ``verdicts.json`` merged by name, and a ``verdict`` event.

A run collects verdicts from several sources (readiness, load, experiments, gates), so a gate
must not overwrite what others wrote: each of its verdicts replaces the run's verdict of the same
name, where it stood, and new names are appended. A second gate over the same run therefore
updates its own verdicts and leaves the rest alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stormcheck.errors import ConfigError
from stormcheck.runs import RunFolder
from stormcheck.timeline import Event, EventKind
from stormcheck.verdict import Verdict, Window

__all__ = ["merge_verdicts", "record_gate"]


def merge_verdicts(existing: Sequence[Verdict], new: Iterable[Verdict]) -> list[Verdict]:
    """``existing`` with every verdict of ``new`` in place of the one of the same name.

    Names ``existing`` lacks are appended in ``new``'s order; a name repeated in ``new`` keeps its
    last verdict.
    """
    merged: dict[str, Verdict] = {v.name: v for v in existing}
    for verdict in new:
        merged[verdict.name] = verdict
    return list(merged.values())


def record_gate(
    folder: RunFolder,
    verdicts: Sequence[Verdict],
    overall: Verdict,
    *,
    exit_code: int,
    window: Window,
) -> Event:
    """Merge ``verdicts`` and the gate's ``overall`` verdict into the run's ``verdicts.json``, and
    record a ``verdict`` event (outcome, exit code, window, each SLO's outcome) on its timeline.

    Raises :class:`ConfigError` when the run's ``verdicts.json`` exists but cannot be read, rather
    than overwrite what others recorded.
    """
    try:
        existing = folder.read_verdicts()
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{folder.verdicts_path}: not a verdicts file ({exc}); not overwriting it"
        ) from None
    folder.write_verdicts(merge_verdicts(existing, [*verdicts, overall]))
    return folder.timeline.record(
        EventKind.VERDICT,
        overall.name,
        outcome=overall.outcome.value,
        exit_code=exit_code,
        window_start_ms=window.start_ms,
        window_end_ms=window.end_ms,
        verdicts={v.name: v.outcome.value for v in verdicts},
    )
