"""The run folder kept as test data: a real ``postgres_primary_killed`` experiment under load.

It was recorded by ``stormcheck experiment run experiments/local/postgres_primary_killed.yaml
--load shop-open --rate 8 --seed 7`` against a full stack on this project's local platform (the
absolute journal path in its timeline made relative); tests copy it before they write anything.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "runs"
RUN_ID = "20261203T114346Z-b8ff01"


def copy_run(runs_dir: Path, run_id: str = RUN_ID) -> Path:
    """A copy of the kept run under ``runs_dir``; returns its folder."""
    target = runs_dir / run_id
    shutil.copytree(DATA / run_id, target)
    return target


def journal(folder: Path) -> dict[str, Any]:
    """The run's only journal, as Chaos Toolkit wrote it."""
    (path,) = sorted((folder / "journals").glob("*.json"))
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def epoch_ms(iso: str) -> int:
    """A journal time (ISO 8601 with a zone) as epoch milliseconds."""
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def timeline(folder: Path) -> list[dict[str, Any]]:
    """Every event of the run's timeline."""
    lines = (folder / "timeline.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
