"""``load_generator``: the most requests per second the load generator sustains on one core.

A trivial endpoint (``GET /`` answering the constant JSON ``{"ok":true}``) served by aiohttp, one
process pinned to one core (``taskset``); on the other core, in turn and for the same time each,
with the same number of connections:

- ``wrk`` (one thread): what the machine can do at all — the baseline;
- plain Locust: stock ``FastHttpUser``, none of our code, no request log;
- our Locust: what the shop scenarios run — a :class:`load.lean_http.LeanHttpUser` whose task
  makes the scenarios' own call (:func:`load.shop_api.call`: ``X-Request-ID``, request context,
  status check, JSON parse) with the request-log plugin on (one JSON line per request);
- our Locust without the log: the same user, the plugin not installed.

Targets: our Locust ≥ 0.35 of wrk; the request log costs ≤ 15 %. Our client is leaner than stock
``FastHttpUser``, so against plain Locust the "cost" comes out negative and says nothing about the
log; the log's own cost is measured against our Locust without it (``log_cost``), and the figure
against plain Locust is reported beside it (``log_cost_vs_plain``). Both must hold the target.
The locustfiles are written to a temporary folder at run time (they are benchmark fixtures,
not scenarios of ``load/``).

Results: ``benchmarks/results/<UTC date>-load_generator.json``, in the shape of the other
benchmarks (``subject_s``/``baseline_s``: seconds per 1,000 requests of our Locust and of wrk, so
``ratio`` = wrk RPS / our RPS), plus the RPS of all three, ``share_of_wrk``, ``log_cost`` and
the targets.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.record import record
from stormcheck.paths import project_root

__all__ = ["LOG_COST_TARGET", "SHARE_OF_WRK_TARGET", "bench_load_generator"]

REPEAT = 3
SECONDS = 10
CONNECTIONS = 32
SERVER_CORE, GENERATOR_CORE = 0, 1
SHARE_OF_WRK_TARGET = 0.35
LOG_COST_TARGET = 0.15

_SERVER = """
import sys
from aiohttp import web

BODY = b'{"ok":true}'

async def ok(request):
    return web.Response(body=BODY, content_type="application/json")

app = web.Application()
app.router.add_get("/", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

_PLAIN = """
from locust import FastHttpUser, constant, task

class PlainUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def hit(self):
        self.client.get("/")
"""

_LOGGED = """
from locust import constant, events, task
from load.lean_http import LeanHttpUser
from load.request_log import RequestLogPlugin
from load.shop_api import call

RequestLogPlugin().install(events)

class LoggedUser(LeanHttpUser):
    wait_time = constant(0)

    @task
    def hit(self):
        call(self.client, "GET", "/", name="/")
"""

_UNLOGGED = _LOGGED.replace("RequestLogPlugin().install(events)", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pinned(core: int, *command: str) -> list[str]:
    return ["taskset", "-c", str(core), *command]


def _wrk(url: str) -> float:
    out = subprocess.run(
        _pinned(GENERATOR_CORE, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", url),
        capture_output=True,
        text=True,
        check=True,
        timeout=SECONDS + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk did not measure cleanly:\n{out}")
    return float(match.group(1))


def _locust(url: str, locustfile: Path, work: Path, *extra: str) -> tuple[float, int]:
    """Locust's RPS over its own first-to-last request span, and its request count."""
    stats = work / f"{locustfile.stem}-stats"
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--host", url, "--headless"]
    command += ["-u", str(CONNECTIONS), "-r", str(CONNECTIONS), "-t", f"{SECONDS}s"]
    command += ["--only-summary", "--json-file", str(stats), "--exit-code-on-error", "1", *extra]
    env = {**os.environ, "PYTHONPATH": str(project_root())}
    run = subprocess.run(
        _pinned(GENERATOR_CORE, *command),
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(
            f"{locustfile.name}: Locust exited {run.returncode}:\n{run.stderr[-2000:]}"
        )
    (entry,) = json.loads(stats.with_suffix(".json").read_text(encoding="utf-8"))
    span = float(entry["last_request_timestamp"]) - float(entry["start_time"])
    count = int(entry["num_requests"])
    if int(entry["num_failures"]) or span <= 0:
        raise RuntimeError(f"{locustfile.name}: {entry['num_failures']} failures, span {span}")
    return count / span, count


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        if server.poll() is not None:
            raise RuntimeError(f"the aiohttp server exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=1).json() == {"ok": True}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the aiohttp server at {url} did not answer within 20 s")


def bench_load_generator() -> dict[str, object]:
    """Run the comparison, write the result file, print a line; returns the result."""
    if (os.cpu_count() or 1) < 2:
        raise RuntimeError("needs two cores: one for the server, one for the generators")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    rps: dict[str, list[float]] = {
        "wrk": [],
        "locust_plain": [],
        "locust_ours_unlogged": [],
        "locust_logged": [],
    }
    log_lines: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        plain, logged, unlogged = work / "plain.py", work / "logged.py", work / "unlogged.py"
        plain.write_text(_PLAIN, encoding="utf-8")
        logged.write_text(_LOGGED, encoding="utf-8")
        unlogged.write_text(_UNLOGGED, encoding="utf-8")
        server = subprocess.Popen(
            _pinned(SERVER_CORE, sys.executable, "-c", _SERVER, str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(url, server)
            load_before = os.getloadavg()
            for repetition in range(REPEAT):
                rps["wrk"].append(_wrk(url))
                rps["locust_plain"].append(_locust(url, plain, work)[0])
                rps["locust_ours_unlogged"].append(_locust(url, unlogged, work)[0])
                log = work / f"requests-{repetition}.jsonl"
                rate, count = _locust(url, logged, work, "--request-log", str(log))
                rps["locust_logged"].append(rate)
                lines = sum(1 for _ in log.open(encoding="utf-8"))
                if lines != count:
                    raise RuntimeError(f"request log has {lines} lines for {count} requests")
                log_lines.append(lines)
            load_after = os.getloadavg()
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
    medians = {name: statistics.median(values) for name, values in rps.items()}
    share_of_wrk = medians["locust_logged"] / medians["wrk"]
    log_cost = 1 - medians["locust_logged"] / medians["locust_ours_unlogged"]
    log_cost_vs_plain = 1 - medians["locust_logged"] / medians["locust_plain"]
    subject = [1000 / r for r in rps["locust_logged"]]
    baseline = [1000 / r for r in rps["wrk"]]
    return record(
        "load_generator",
        subject,
        baseline,
        f"seconds per 1000 requests, {CONNECTIONS} connections, {SECONDS} s each, generator"
        f" pinned to core {GENERATOR_CORE}, aiohttp server to core {SERVER_CORE}; subject:"
        " Locust with the scenarios' LeanHttpUser and call() (X-Request-ID, context, JSON"
        " parse) and the request log; plain: stock FastHttpUser; baseline: wrk"
        " -t1; ratio = wrk RPS / subject RPS; load average (1/5/15 min) before"
        f" {load_before}, after {load_after} (the cores are shared with other work)",
        summary=(
            f"wrk {medians['wrk']:.0f}/s  plain Locust {medians['locust_plain']:.0f}/s"
            f"  ours without log {medians['locust_ours_unlogged']:.0f}/s"
            f"  with request log {medians['locust_logged']:.0f}/s  share of wrk {share_of_wrk:.2f}"
            f" (target >= {SHARE_OF_WRK_TARGET})  log cost {log_cost:.1%}, vs plain Locust"
            f" {log_cost_vs_plain:.1%} (target <= {LOG_COST_TARGET:.0%})"
        ),
        rps=rps,
        rps_median=medians,
        request_log_lines=log_lines,
        share_of_wrk=share_of_wrk,
        share_of_wrk_target=SHARE_OF_WRK_TARGET,
        log_cost=log_cost,
        log_cost_vs_plain=log_cost_vs_plain,
        log_cost_target=LOG_COST_TARGET,
        within_target=share_of_wrk >= SHARE_OF_WRK_TARGET
        and max(log_cost, log_cost_vs_plain) <= LOG_COST_TARGET,
    )


if __name__ == "__main__":
    bench_load_generator()
