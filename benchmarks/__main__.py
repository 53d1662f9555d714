"""``make bench``: the harness's own costs, each as a ratio against a baseline measured in the same run.

- ``up_minimal``: ``up`` of the minimal stack (shop API, PostgreSQL, Redis, exporters, Alertmanager,
  Prometheus) until every readiness check passes (target ≤ 15 s), against bare ``docker run``s of
  the same images on one network waiting for the same checks;
- ``up_full``: ``up --stack full`` (every component of the full stack, target ≤ 60 s) against ``up``
  of the minimal stack (see ``benchmarks/platform_up.py``);
- ``slo_evaluation``: 20 SLOs over a 1-hour window from recording rules (target ≤ 2 s) against
  the raw counters, on a host Prometheus (see ``benchmarks/slo_evaluation.py``);
- ``load_generator``: requests per second of our Locust (request log on) against a trivial aiohttp
  endpoint, as shares of ``wrk`` and of plain Locust (see ``benchmarks/load_generator.py``);
- ``up_postgres``: ``bring_up`` of PostgreSQL to a passing SQL readiness check, against a bare
  ``docker run`` of the same image polled with the same check (the harness's overhead);
- ``images_noop``: a second ``images build`` (hash every recipe, find every image present),
  against a bare ``docker image inspect`` of the same references;
- ``shop_listing``: product listing throughput of one shop replica (a host process from the shop's
  venv, against PostgreSQL and Redis from the catalogue), every request a cache miss after a
  ``FLUSHALL`` (cold) against the same requests again, all cache hits (warm); the ratio is
  warm RPS / cold RPS;
- ``experiment_overhead``: ``stormcheck experiment run`` of a no-op experiment against plain
  ``chaos run`` of the same file on one full stack; fails above 1 s more (see
  ``benchmarks/experiment_overhead.py``).

- ``fault_roundtrip``, ``fault_snapshot``: apply + rollback of each fault action against the bare
  calls underneath (fails above 3x), and a snapshot of the full stack (fails above 2 s); see
  ``benchmarks/faults.py``.
- ``main_job``: ``stormcheck run`` (the quick plan) until its summary, images cached; fails above
  10 minutes or on an exit other than 0 (see ``benchmarks/main_job.py``).

Results: ``benchmarks/results/<UTC date>-<name>.json`` with every repetition, medians and ratio.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import psycopg
import redis

from benchmarks import (
    experiment_overhead,
    faults,
    load_generator,
    main_job,
    platform_up,
    slo_evaluation,
)
from benchmarks.record import record
from stormcheck.errors import NotReadyError
from stormcheck.local.catalogue import read_catalogue
from stormcheck.local.engine import connect
from stormcheck.local.images import (
    debian_mirror,
    detect_mode,
    ensure_base,
    plan_images,
    role_venv,
)
from stormcheck.local.session import bring_down, bring_up, prepare_images
from stormcheck.paths import catalogue_path, project_root
from stormcheck.settings import load_settings

REPEAT = 5


def _measure(action: Callable[[], None], repeat: int = REPEAT) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


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

    record(
        "up_postgres",
        _measure(harness),
        _measure(bare),
        "bring_up+down vs docker run+poll+rm, PostgreSQL only",
    )


def bench_images_noop() -> None:
    settings = load_settings()
    client = connect()
    catalogue = read_catalogue(catalogue_path(), project_root())
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

    record(
        "images_noop",
        _measure(harness),
        _measure(bare),
        f"a no-op images build of {len(refs)} roles vs inspecting them",
    )


LISTING_BATCH = 400  # requests per timed batch
LISTING_CONCURRENCY = 8
LISTING_BUDGET_S = 60.0


def _listing_batch(base_url: str, first_key: int) -> float:
    """Seconds to serve LISTING_BATCH product listings, each its own cache key, 8 at a time."""

    async def run() -> float:
        keys = iter(range(first_key, first_key + LISTING_BATCH))
        limits = httpx.Limits(max_connections=LISTING_CONCURRENCY)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:

            async def worker() -> None:
                for key in keys:  # a shared iterator: each key is requested once
                    response = await client.get(
                        "/api/v1/products", params={"page_size": 20, "min_price_cents": key}
                    )
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(LISTING_CONCURRENCY)))
            return time.perf_counter() - started

    return asyncio.run(run())


def _cache_counts(base_url: str) -> dict[str, float]:
    counts = {}
    for line in httpx.get(base_url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("shop_cache_requests_total{"):
            counts[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
    return counts


def bench_shop_listing() -> None:
    started = time.monotonic()
    settings = load_settings()
    python = role_venv(
        read_catalogue(catalogue_path(), project_root()).role("shop"), settings.cache_dir
    )
    folder, manifest = bring_up(settings, owner="process", only=("postgres", "redis"))
    shop: subprocess.Popen[bytes] | None = None
    try:
        endpoints = {name: manifest.endpoint(name) for name in manifest.components}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        shop = subprocess.Popen(
            [str(python), "-m", "shop", "serve"],
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": str(project_root() / "platform" / "shop" / "src"),
                "SHOP_DATABASE_URL": endpoints["postgres"],
                "SHOP_REDIS_URL": endpoints["redis"],
                "SHOP_HOST": "127.0.0.1",
                "SHOP_PORT": str(port),
                "SHOP_LOG_LEVEL": "WARNING",
                "SHOP_DRAIN_SECONDS": "0",
            },
            stdout=subprocess.DEVNULL,
        )
        while True:
            if shop.poll() is not None:
                raise RuntimeError(f"the shop exited with {shop.returncode} before it was ready")
            if time.monotonic() - started > LISTING_BUDGET_S / 2:
                raise TimeoutError("the shop was not ready within half the time budget")
            try:
                if httpx.get(base_url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        with redis.Redis.from_url(endpoints["redis"]) as cache:
            cache.flushall()

        cold: list[float] = []
        warm: list[float] = []
        for repetition in range(REPEAT):
            if time.monotonic() - started > LISTING_BUDGET_S:
                raise TimeoutError(f"time budget of {LISTING_BUDGET_S:.0f} s spent")
            first_key = repetition * LISTING_BATCH
            # The warm batch repeats the cold batch's keys (cached by it: the TTL is 60 s);
            # the cache counters prove each batch took the path it claims.
            for times, result in ((cold, "miss"), (warm, "hit")):
                before = _cache_counts(base_url)
                times.append(_listing_batch(base_url, first_key))
                served = _cache_counts(base_url).get(result, 0) - before.get(result, 0)
                if served != LISTING_BATCH:
                    raise RuntimeError(f"{result}: {served} of {LISTING_BATCH} requests")
    finally:
        if shop is not None:
            shop.terminate()
            try:
                shop.wait(15)
            except subprocess.TimeoutExpired:
                shop.kill()
                shop.wait(5)
        bring_down(settings, folder)

    cold_rps = LISTING_BATCH / statistics.median(cold)
    warm_rps = LISTING_BATCH / statistics.median(warm)
    record(
        "shop_listing",
        cold,
        warm,
        f"seconds per batch of {LISTING_BATCH} GET /api/v1/products (page_size 20, one cache key"
        f" each), {LISTING_CONCURRENCY} concurrent, one replica; subject: cold (every request a"
        f" cache miss after FLUSHALL), baseline: warm (the same requests, every one a hit);"
        f" ratio = warm RPS / cold RPS; cold {cold_rps:.0f} RPS, warm {warm_rps:.0f} RPS;"
        f" total {time.monotonic() - started:.0f} s",
    )


def bench_up_minimal() -> None:
    """`up` of the minimal stack (target ≤ 15 s with images built) against bare `docker run`s.

    The baseline starts the same images in the same order on one network and waits for the same
    readiness checks, without labels, volumes, leases or a run file; tear-down is not timed.
    """
    from stormcheck.local.stacks import components_for

    settings = load_settings()
    client = connect()
    roles = tuple({c.role for c in components_for("minimal")})
    _, built = prepare_images(settings, client, roles=roles)
    images = {b.role: b.ref for b in built}
    subject: list[float] = []
    baseline: list[float] = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        folder, _ = bring_up(settings, owner="process")
        subject.append(time.perf_counter() - started)
        bring_down(settings, folder)

        started = time.perf_counter()
        network = client.networks.create(f"bench-{time.time_ns()}")
        started_containers = []
        try:
            for component in components_for("minimal"):
                container = client.containers.run(
                    images[component.role],
                    detach=True,
                    environment=dict(component.env),
                    network=network.name,
                    hostname=component.name,
                    ports={f"{p}/tcp": ("127.0.0.1", None) for p in component.ports},
                )
                started_containers.append(container)
                container.reload()
                ports = container.attrs["NetworkSettings"]["Ports"]
                endpoints = {
                    name: template.format(host="127.0.0.1", port=ports[f"{p}/tcp"][0]["HostPort"])
                    for p, (name, template) in component.ports.items()
                }
                while True:
                    try:
                        component.ready(endpoints)
                        break
                    except NotReadyError:
                        time.sleep(0.25)
            baseline.append(time.perf_counter() - started)
        finally:
            for container in started_containers:
                container.remove(force=True, v=True)
            network.remove()
    record(
        "up_minimal",
        subject,
        baseline,
        "up --stack minimal vs bare docker run + same readiness checks",
    )


BENCHMARKS = {
    "up_minimal": bench_up_minimal,
    "up_full": platform_up.bench_up_full,
    "slo_evaluation": slo_evaluation.bench_slo_evaluation,
    "load_generator": load_generator.bench_load_generator,
    "up_postgres": bench_up_postgres,
    "images_noop": bench_images_noop,
    "shop_listing": bench_shop_listing,
    "fault_roundtrip": faults.bench_fault_roundtrip,
    "fault_snapshot": faults.bench_fault_snapshot,
    "experiment_overhead": experiment_overhead.bench_experiment_overhead,
    "main_job": main_job.bench_main_job,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
