"""``make bench``: the harness's own costs, each as a ratio against a baseline measured in the same run.

- ``up_postgres``: ``bring_up`` of PostgreSQL to a passing SQL readiness check, against a bare
  ``docker run`` of the same image polled with the same check (the harness's overhead);
- ``images_noop``: a second ``images build`` (hash every recipe, find every image present),
  against a bare ``docker image inspect`` of the same references.

Results: ``benchmarks/results/<UTC date>-<name>.json`` with every repetition, medians and ratio.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from stormcheck.local.catalogue import load_catalogue
from stormcheck.local.engine import connect
from stormcheck.local.images import debian_mirror, detect_mode, ensure_base, plan_images
from stormcheck.local.session import bring_down, bring_up, prepare_images
from stormcheck.paths import catalogue_path, project_root
from stormcheck.settings import load_settings

RESULTS = Path(__file__).parent / "results"
REPEAT = 5


def _measure(action: Callable[[], None], repeat: int = REPEAT) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def _report(name: str, subject: list[float], baseline: list[float], note: str) -> dict[str, object]:
    result = {
        "name": name,
        "note": note,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subject_s": subject,
        "baseline_s": baseline,
        "subject_median_s": statistics.median(subject),
        "baseline_median_s": statistics.median(baseline),
        "ratio": statistics.median(subject) / statistics.median(baseline),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%d}-{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{name:12} subject {result['subject_median_s']:.3f} s  baseline {result['baseline_median_s']:.3f} s"
        f"  ratio {result['ratio']:.2f}  ({path.name})"
    )
    return result


def bench_up_postgres() -> None:
    settings = load_settings()
    client = connect()
    _, built = prepare_images(settings, client, roles=("postgres",))
    image = built[0].ref

    def harness() -> None:
        folder, _ = bring_up(settings, owner="process", only=("postgres",))
        bring_down(settings, folder)

    def bare() -> None:
        container = client.containers.run(
            image,
            detach=True,
            environment={"POSTGRES_PASSWORD": "x"},
            ports={"5432/tcp": ("127.0.0.1", None)},
        )
        try:
            container.reload()
            port = container.attrs["NetworkSettings"]["Ports"]["5432/tcp"][0]["HostPort"]
            while True:
                try:
                    with psycopg.connect(
                        f"postgresql://postgres:x@127.0.0.1:{port}/postgres", connect_timeout=2
                    ) as c:
                        c.execute("select 1")
                    break
                except psycopg.Error:
                    time.sleep(0.25)
        finally:
            container.remove(force=True, v=True)

    _report(
        "up_postgres",
        _measure(harness),
        _measure(bare),
        "bring_up+down vs docker run+poll+rm, PostgreSQL only",
    )


def bench_images_noop() -> None:
    settings = load_settings()
    client = connect()
    catalogue = load_catalogue(catalogue_path(), project_root())
    prepare_images(settings, client, catalogue=catalogue)
    mode = detect_mode(settings.image_mode, settings.container_registry)
    base = ensure_base(
        client,
        catalogue,
        mode,
        mirror=debian_mirror(settings.debian_mirror),
        work_dir=settings.cache_dir,
    )
    refs = [p.ref for p in plan_images(client, catalogue, mode, base)]

    def harness() -> None:
        prepare_images(settings, client, catalogue=catalogue)

    def bare() -> None:
        for ref in refs:
            client.images.get(ref)

    _report(
        "images_noop",
        _measure(harness),
        _measure(bare),
        f"a no-op images build of {len(refs)} roles vs inspecting them",
    )


BENCHMARKS = {"up_postgres": bench_up_postgres, "images_noop": bench_images_noop}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
