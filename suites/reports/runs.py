"""The run folder kept as test data: a real ``postgres_primary_killed`` experiment under load.

It was recorded by ``stormcheck experiment run experiments/local/postgres_primary_killed.yaml
--load shop-open --rate 8 --seed 7`` against a full stack on this project's local platform (the
absolute paths in its timeline and verdicts made relative); tests copy it before they write
anything. ``data/judged/`` holds the judge's result of that experiment (``judge_experiment`` on
the kept folder after the stack was gone: the Prometheus-based checks are inconclusive, the
request-log ones — time to recover, the client's availability — and time to detect are measured).
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


def add_judged(folder: Path) -> dict[str, Any]:
    """Put the judge's result into the run folder (``resilience/``); returns it."""
    source = DATA.parent / "judged" / "postgres_primary_killed.json"
    target = folder / "resilience" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    data: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return data


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
