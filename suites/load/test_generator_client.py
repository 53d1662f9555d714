"""The scenarios' lean HTTP client, end to end: real Locust, a real HTTP server, the request log.

A stdlib HTTP/1.1 server in this process answers what the shop cannot be made to answer on cue
(chunked bodies, closed keep-alive sockets, a stall, a 503 then a 201 for one idempotency key);
Locust runs the scenarios' own calls (:func:`load.shop_api.call` and ``checkout``) against it in
a subprocess. Locust's stats, the request log and what the server received must all agree.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stormcheck.load.request_records import CheckoutOutcome, RequestRecord, read_request_log
from stormcheck.paths import project_root

pytestmark = pytest.mark.integration

_LOCUSTFILE = """
import gevent
from locust import constant, events, task
from locust.exception import StopUser

from load.lean_http import LeanClient, LeanHttpUser
from load.request_log import RequestLogPlugin
from load.shop_api import call, checkout

RequestLogPlugin().install(events)


class ProbeUser(LeanHttpUser):
    wait_time = constant(0)
    network_timeout = 0.5
    connection_timeout = 1.0

    @task
    def every_case_once(self):
        call(self.client, "GET", "/json", name="json")
        call(self.client, "POST", "/echo", name="echo", json={"a": [1, "\\u00e9"]})
        call(self.client, "GET", "/chunked", name="chunked")
        call(self.client, "GET", "/close", name="close")
        call(self.client, "GET", "/json", name="after-close")
        call(self.client, "GET", "/drop", name="drop")
        call(self.client, "GET", "/json", name="after-drop")
        call(self.client, "GET", "/missing", name="missing")
        call(self.client, "GET", "/missing", name="missing-expected", expect=(404,))
        call(self.client, "GET", "/slow", name="slow")
        refused = LeanClient(
            "http://127.0.0.1:%(closed_port)d",
            request_event=self.environment.events.request,
            connection_timeout=1.0,
            network_timeout=1.0,
        )
        call(refused, "GET", "/json", name="refused")
        checkout(self.client, {"items": [{"product_id": 1, "quantity": 1}]})
        gevent.spawn(self.environment.runner.quit)
        raise StopUser()
"""


@dataclass
class _Seen:
    """What the server received, one entry per request that reached it."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    checkout_keys: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(seen: _Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, *extra: tuple[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _note(self, body: bytes = b"") -> None:
            with seen.lock:
                seen.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "request_id": self.headers.get("X-Request-ID"),
                        "key": self.headers.get("Idempotency-Key"),
                        "content_type": self.headers.get("Content-Type"),
                        "body": body.decode(),
                    }
                )

        def do_GET(self) -> None:
            self._note()
            if self.path == "/json":
                self._answer(200, b'{"ok":true}')
            elif self.path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in (b'{"chunked":', b"true}"):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            elif self.path == "/close":
                self._answer(200, b"{}", ("Connection", "close"))
                self.close_connection = True
            elif self.path == "/drop":  # answers as if keeping the socket, then closes it
                self._answer(200, b"{}")
                self.close_connection = True
            elif self.path == "/slow":
                time.sleep(1.5)
                self._answer(200, b"{}")
            else:
                self._answer(404, b'{"detail":"not found"}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._note(body)
            if self.path == "/api/v1/orders":
                key = self.headers.get("Idempotency-Key", "")
                with seen.lock:
                    seen.checkout_keys[key] = seen.checkout_keys.get(key, 0) + 1
                    count = seen.checkout_keys[key]
                if count == 1:
                    self._answer(503, b"{}")  # ambiguous: the order may exist
                elif count == 2:
                    self._answer(429, b"{}")  # shed: says nothing about the first attempt
                else:
                    self._answer(201, b'{"id":7}')
            else:
                self._answer(200, body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the stalled answer is written to a socket the client already gave up on


@dataclass(frozen=True)
class _Run:
    returncode: int
    output: str
    lines: list[dict[str, Any]]
    records: dict[str, list[RequestRecord]]
    stats: list[dict[str, Any]]
    seen: _Seen


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory: pytest.TempPathFactory) -> _Run:
    work = tmp_path_factory.mktemp("lean-http")
    seen = _Seen()
    server = _QuietServer(("127.0.0.1", 0), _handler(seen))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    locustfile = work / "probe.py"
    locustfile.write_text(_LOCUSTFILE % {"closed_port": closed_port}, encoding="utf-8")
    log, stats = work / "requests.jsonl", work / "stats"
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    command += ["--host", f"http://127.0.0.1:{server.server_address[1]}", "-u", "1", "-r", "1"]
    command += ["-t", "60s", "--only-summary", "--json-file", str(stats)]
    command += ["--request-log", str(log), "--max-error-ratio", "1", "--p95-ms", "1e9"]
    command += ["--p99-ms", "1e9"]
    try:
        run = subprocess.run(
            command,
            cwd=project_root(),
            env={**os.environ, "PYTHONPATH": str(project_root())},
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    records: dict[str, list[RequestRecord]] = {}
    for record in read_request_log(log) if log.exists() else []:
        records.setdefault(record.name, []).append(record)
    return _Run(
        returncode=run.returncode,
        output=run.stdout[-3000:] + run.stderr[-3000:],
        lines=[json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        if log.exists()
        else [],
        records=records,
        stats=json.loads(stats.with_suffix(".json").read_text(encoding="utf-8"))
        if stats.with_suffix(".json").exists()
        else [],
        seen=seen,
    )


def test_locust_stats_and_the_request_log_count_the_same_requests(probe_run: _Run) -> None:
    assert probe_run.returncode == 0, probe_run.output
    logged = [r for rs in probe_run.records.values() for r in rs]
    by_name = {entry["name"]: entry for entry in probe_run.stats}
    assert sum(e["num_requests"] for e in by_name.values()) == len(logged), by_name
    assert sum(e["num_failures"] for e in by_name.values()) == sum(not r.ok for r in logged)
    for name, records in probe_run.records.items():
        assert by_name[name]["num_requests"] == len(records), (name, by_name[name])
    assert all(
        set(line) == set(RequestRecord.from_dict(line).to_dict()) for line in probe_run.lines
    )


def test_answers_are_parsed_whatever_their_framing_and_keep_alive(probe_run: _Run) -> None:
    records = {name: rs[0] for name, rs in probe_run.records.items()}
    for name in ("json", "echo", "chunked", "close", "after-close", "drop", "after-drop"):
        assert records[name].ok and records[name].status == 200, records[name]
    assert records["json"].bytes == len(b'{"ok":true}')
    assert records["chunked"].bytes == len(b'{"chunked":true}')
    (echo,) = [r for r in probe_run.seen.requests if r["path"] == "/echo"]
    assert json.loads(echo["body"]) == {"a": [1, "é"]}, echo
    assert echo["content_type"] == "application/json"


def test_failures_are_failures_with_their_cause(probe_run: _Run) -> None:
    records = {name: rs[0] for name, rs in probe_run.records.items()}
    missing, expected = records["missing"], records["missing-expected"]
    assert (missing.ok, missing.status) == (False, 404), missing
    assert (expected.ok, expected.status) == (True, 404), expected
    slow, refused = records["slow"], records["refused"]
    assert (slow.ok, slow.status) == (False, 0) and "timed out" in (slow.error or ""), slow
    assert (refused.ok, refused.status) == (False, 0), refused
    assert "ConnectionRefusedError" in (refused.error or ""), refused
    assert 400 <= slow.response_ms < 1400, slow  # the 0.5 s network timeout, not the 1.5 s stall


def test_every_request_carries_the_id_the_log_names(probe_run: _Run) -> None:
    ids = [r.request_id for rs in probe_run.records.values() for r in rs]
    assert all(ids) and len(set(ids)) == len(ids), ids
    received = {r["request_id"] for r in probe_run.seen.requests}
    reached = {r.request_id for rs in probe_run.records.values() for r in rs if r.status}
    assert reached <= received, reached - received
    assert received <= set(ids), received - set(ids)


def test_an_ambiguous_checkout_is_retried_with_the_same_key(probe_run: _Run) -> None:
    first, shed, third = sorted(probe_run.records["POST /api/v1/orders"], key=lambda r: r.sent_ms)
    assert first.checkout is not None and shed.checkout is not None and third.checkout is not None
    assert first.checkout.key == shed.checkout.key == third.checkout.key
    assert (first.status, first.checkout.outcome, first.checkout.final) == (
        503,
        CheckoutOutcome.AMBIGUOUS,
        False,
    )
    # a 429 on a retry is not a rejection of the key: the first attempt may have placed it
    assert (shed.status, shed.checkout.outcome, shed.checkout.final) == (
        429,
        CheckoutOutcome.AMBIGUOUS,
        False,
    )
    assert (third.status, third.checkout.outcome, third.checkout.order_id) == (
        201,
        CheckoutOutcome.SUCCESS,
        7,
    )
    assert third.checkout.final and third.checkout.attempt == 3
    assert probe_run.seen.checkout_keys == {first.checkout.key: 3}
    assert len({first.request_id, shed.request_id, third.request_id}) == 3
