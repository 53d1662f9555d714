"""Run the shop as a real `python -m shop` subprocess, as its container does.

The interpreter is always given explicitly: the `shop_python` fixture's venv holds exactly the
shop's locked wheels (what its image has); the test's own interpreter lacks them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from stormcheck.net import free_port
from suites.shop.databases import fresh_database

SHOP_SRC = Path(__file__).resolve().parents[2] / "platform" / "shop" / "src"


class ShopProcess:
    """One shop replica on a random port, run by `python`; its stdout is collected as JSON lines."""

    def __init__(self, python: str, database_url: str, redis_url: str, **env: str) -> None:
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(SHOP_SRC),
            "PYTHONUNBUFFERED": "1",
            "SHOP_DATABASE_URL": database_url,
            "SHOP_REDIS_URL": redis_url,
            "SHOP_HOST": "127.0.0.1",
            "SHOP_PORT": str(self.port),
            "SHOP_REPLICA": f"test-{self.port}",
            "SHOP_ZONE": "a",
            "SHOP_MIGRATE": "1",
            "SHOP_DRAIN_SECONDS": "0.5",
            "SHOP_LOG_LEVEL": "DEBUG",
            **env,
        }
        self.lines: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self, wait_ready: bool = True, timeout: float = 60.0) -> ShopProcess:
        """Start the process; wait for /health (and /ready unless told not to)."""
        self._process = subprocess.Popen(
            [self.python, "-m", "shop", "serve"],
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()
        self.wait_for("/ready" if wait_ready else "/health", timeout)
        return self

    def _collect(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with self._process.stdout:
            for line in self._process.stdout:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, path: str, timeout: float) -> None:
        """Poll `path` until it answers 200; fail with the process output otherwise."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"shop exited with {self._process.returncode}:\n" + "\n".join(self.lines)
                )
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{path} not 200 after {timeout}s:\n" + "\n".join(self.lines[-30:]))

    def records(self) -> list[dict[str, Any]]:
        """Every stdout line parsed as JSON (a non-JSON line fails the caller's test)."""
        return [json.loads(line) for line in list(self.lines) if line.strip()]

    def wait_for_records(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Parsed records once `predicate` holds for them (log lines arrive asynchronously)."""
        give_up = time.monotonic() + timeout
        while True:
            records = self.records()
            if predicate(records) or time.monotonic() > give_up:
                return records
            time.sleep(0.05)

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; return its exit code."""
        assert self._process is not None
        code = self._process.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def stop(self) -> None:
        """Terminate and reap; kill if it does not exit in time."""
        if self._process is None or self._process.poll() is not None:
            return
        self.terminate()
        try:
            self.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self.wait(5)

    def __enter__(self) -> ShopProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_migrate(
    python: str, database_url: str, redis_url: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m shop migrate` with interpreter `python` to completion."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(SHOP_SRC),
        "SHOP_DATABASE_URL": database_url,
        "SHOP_REDIS_URL": redis_url,
        "SHOP_DB_STARTUP_DEADLINE_SECONDS": "5",
    }
    return subprocess.run(
        [python, "-m", "shop", "migrate"],
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def migrated_database(python: str, postgres_dsn: str, redis_url: str) -> Iterator[str]:
    """A fresh database with the shop's migrations applied (by ``python``); dropped afterwards."""
    with fresh_database(postgres_dsn) as dsn:
        result = run_migrate(python, dsn, redis_url)
        assert result.returncode == 0, result.stdout + result.stderr
        yield dsn
