"""The timeline: UTC milliseconds, append-only JSON lines, safe across threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from stormcheck.errors import ConfigError
from stormcheck.timeline import EventKind, Timeline, iso_ms, now_ms

pytestmark = pytest.mark.unit


def test_now_ms_is_utc_epoch_milliseconds() -> None:
    before = int(time.time() * 1000)
    value = now_ms()
    after = int(time.time() * 1000)
    assert before <= value <= after + 1


def test_iso_ms_is_utc_with_milliseconds() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1_764_161_999_123) == "2025-11-26T12:59:59.123Z"


def test_events_read_back_sorted_by_time(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")
    timeline.record(EventKind.FAULT_END, "kill-api", at_ms=2_000)
    timeline.record(EventKind.FAULT_START, "kill-api", at_ms=1_000, target="api-1")
    events = timeline.events()
    assert [e.kind for e in events] == [EventKind.FAULT_START, EventKind.FAULT_END]
    assert events[0].attrs == {"target": "api-1"}
    assert [e.name for e in timeline.events(EventKind.FAULT_END)] == ["kill-api"]


def test_concurrent_writers_lose_no_event(tmp_path: Path) -> None:
    timeline = Timeline(tmp_path / "timeline.jsonl")

    def write(worker: int) -> None:
        for i in range(200):
            timeline.record(EventKind.REQUEST, f"w{worker}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = {e.name for e in timeline.events()}
    assert len(names) == 800


def test_a_corrupt_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline = Timeline(path)
    timeline.record(EventKind.NOTE, "fine")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    with pytest.raises(ConfigError, match=rf"{path}:2: not a timeline event"):
        timeline.events()


def test_missing_timeline_has_no_events(tmp_path: Path) -> None:
    assert Timeline(tmp_path / "absent.jsonl").events() == []
