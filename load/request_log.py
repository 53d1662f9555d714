"""The request log as a Locust event plugin, and the thresholds that set Locust's exit code.

A locustfile installs it explicitly (``RequestLogPlugin().install(events)``). It then:

- adds the options ``--request-log PATH``, ``--max-error-ratio``, ``--p95-ms``, ``--p99-ms``;
- writes one JSON line per request attempt (format: :mod:`stormcheck.load.request_records`), with the
  intended send time a task put in the request's ``context`` (else the actual send time);
- in distributed mode, workers ship their records to the master with each stats report, and the
  master alone writes the one merged log;
- when Locust quits, judges the log against the thresholds and sets ``process_exit_code``
  (0 pass, 1 fail, 2 inconclusive). This replaces Locust's own rule (exit 1 on any failed
  request), on purpose: the thresholds are the gate.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path
from typing import IO, Any

from locust import events as locust_events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from load.fast_json import dumps_line
from stormcheck.load.request_records import CheckoutAttempt, CheckoutOutcome, read_request_log
from stormcheck.load.thresholds import Thresholds, judge_requests
from stormcheck.verdict import gate_exit_code

__all__ = [
    "CHECKOUT",
    "INTENDED_MS",
    "REQUEST_ID",
    "RequestLogPlugin",
    "log_line",
    "new_request_id",
    "stamp",
]

INTENDED_MS = "intended_ms"  # context key: when the request was due (epoch ms)
REQUEST_ID = "request_id"  # context key: the X-Request-ID sent
CHECKOUT = "checkout"  # context key: CheckoutAttempt.to_dict()
_REPORT_KEY = "stormcheck_requests"

log = logging.getLogger("stormcheck.request_log")


_BUFFER_BYTES = 1 << 20  # the log is written in 1 MiB blocks, flushed when the test stops


def _fresh_id_source() -> tuple[str, itertools.count[int]]:
    return f"{os.urandom(6).hex()}-", itertools.count(1)


_id_prefix, _id_counter = _fresh_id_source()


def _reseed_ids_after_fork() -> None:
    global _id_prefix, _id_counter  # a forked generator must not repeat its parent's ids
    _id_prefix, _id_counter = _fresh_id_source()


os.register_at_fork(after_in_child=_reseed_ids_after_fork)


def new_request_id() -> str:
    """A correlation id for ``X-Request-ID`` (the shop accepts 1-128 of ``[A-Za-z0-9._:-]``).

    A random 48-bit prefix per process and a counter: unique within a run at a tenth of the cost
    of a UUID (idempotency keys, which must be unique everywhere, stay UUIDs).
    """
    return f"{_id_prefix}{next(_id_counter):x}"


def stamp(request_id: str, intended_ms: float | None = None) -> dict[str, Any]:
    """The request ``context`` the plugin reads: correlation id and (open model) intended time."""
    context: dict[str, Any] = {REQUEST_ID: request_id}
    if intended_ms is not None:
        context[INTENDED_MS] = intended_ms
    return context


def _default_log_path() -> str:
    return f"reports/load/requests-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.jsonl"


class RequestLogPlugin:
    """Per-process state of the request log: the open file (local/master) or a buffer (worker)."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._buffer: list[dict[str, Any]] = []
        self._worker = "local"
        self._is_worker = False

    def install(self, events: Any = locust_events) -> None:
        """Register the plugin's listeners on Locust's ``events``."""
        events.init_command_line_parser.add_listener(self._add_arguments)
        events.init.add_listener(self._on_init)
        events.request.add_listener(self._on_request)
        events.report_to_master.add_listener(self._on_report_to_master)
        events.worker_report.add_listener(self._on_worker_report)
        events.test_stop.add_listener(self._on_test_stop)
        events.quitting.add_listener(self._on_quitting)

    @staticmethod
    def _add_arguments(parser: Any) -> None:
        group = parser.add_argument_group("stormcheck request log and thresholds")
        group.add_argument(
            "--request-log",
            default=_default_log_path(),
            help="JSON-lines request log (one line per request attempt)",
        )
        group.add_argument(
            "--max-error-ratio", type=float, default=0.01, help="threshold: failed / all"
        )
        group.add_argument(
            "--p95-ms", type=float, default=500.0, help="threshold: p95 from intended send time"
        )
        group.add_argument(
            "--p99-ms", type=float, default=1000.0, help="threshold: p99 from intended send time"
        )

    def _on_init(self, environment: Environment, **_: Any) -> None:
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            self._is_worker = True
            self._worker = f"worker-{runner.client_id}"
            return
        options = environment.parsed_options
        self._path = Path(options.request_log if options else _default_log_path())
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._path.open("wb", buffering=_BUFFER_BYTES)
        if isinstance(runner, MasterRunner):
            self._worker = "master"

    def _on_request(
        self,
        *,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response: Any = None,
        context: dict[str, Any] | None = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        context = context or {}
        sent_ms = (start_time if start_time is not None else time.time()) * 1000
        checkout = context.get(CHECKOUT)
        record = log_line(
            name=name,
            method=request_type,
            intended_ms=float(context.get(INTENDED_MS, sent_ms)),
            sent_ms=sent_ms,
            response_ms=response_time,
            status=int(getattr(response, "status_code", 0) or 0),
            response_bytes=int(response_length or 0),
            error=None if exception is None else f"{type(exception).__name__}: {exception}"[:300],
            request_id=str(context.get(REQUEST_ID, "")),
            worker=self._worker,
            checkout=None if checkout is None else _attempt(checkout).to_dict(),
        )
        if self._is_worker:
            self._buffer.append(record)
        elif self._file is not None:
            self._file.write(dumps_line(record))

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[_REPORT_KEY], self._buffer = self._buffer, []

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        self._write(data.get(_REPORT_KEY, ()))

    def _write(self, records: Any) -> None:
        if self._file is None:
            return
        self._file.writelines(dumps_line(record) for record in records)

    def _on_test_stop(self, **_: Any) -> None:
        if self._file is not None:
            self._file.flush()

    def _on_quitting(self, environment: Environment, **_: Any) -> None:
        if self._file is None or self._path is None:
            return
        runner = environment.runner
        if runner is not None and not isinstance(runner, MasterRunner) and runner.user_count:
            runner.stop()  # a signal ends Locust mid-run: let in-flight requests land in the log
        self._file.close()
        self._file = None
        options = environment.parsed_options
        thresholds = Thresholds(
            max_error_ratio=options.max_error_ratio,
            p95_ms=options.p95_ms,
            p99_ms=options.p99_ms,
        )
        verdict = judge_requests(read_request_log(self._path), thresholds, source=str(self._path))
        log.info("request log %s\n%s", self._path, verdict.explain())
        environment.process_exit_code = gate_exit_code(verdict)


def log_line(
    *,
    name: str,
    method: str,
    intended_ms: float,
    sent_ms: float,
    response_ms: float,
    status: int,
    response_bytes: int,
    error: str | None,
    request_id: str,
    worker: str,
    checkout: dict[str, Any] | None,
) -> dict[str, Any]:
    """One line of the log: the object ``RequestRecord.to_dict()`` writes, without the record.

    Built once per request, so it skips the dataclass and keeps the times unrounded (``round``
    costs more than the rest of the line); a unit test holds it to ``RequestRecord``'s format.
    """
    line: dict[str, Any] = {
        "name": name,
        "method": method,
        "intended_ms": intended_ms,
        "sent_ms": sent_ms,
        "end_ms": sent_ms + response_ms,
        "response_ms": response_ms,
        "status": status,
        "bytes": response_bytes,
        "ok": error is None,
        "error": error,
        "request_id": request_id,
        "worker": worker,
    }
    if checkout is not None:
        line["checkout"] = checkout
    return line


def _attempt(data: dict[str, Any]) -> CheckoutAttempt:
    return CheckoutAttempt(
        key=str(data["key"]),
        attempt=int(data["attempt"]),
        outcome=CheckoutOutcome(data["outcome"]),
        order_id=data.get("order_id"),
        final=bool(data["final"]),
    )
