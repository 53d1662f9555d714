"""A bounded, paced request loop for the log tests: N requests at a fixed rate, a few threads.

Request ``i`` is due at ``start + i / rate``; a worker sleeps until it is due, sends it, and
reports the correlation id the API returned (``X-Request-ID``) with the time its response
arrived. The loop ends after ``rate * seconds`` requests; every request has a timeout. Only for
127.0.0.1.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from stormcheck.timeline import now_ms

__all__ = ["PacedResult", "paced_requests"]


@dataclass(slots=True)
class PacedResult:
    """What the loop did: requests answered with an id, and every failure with its reason."""

    answered: int = 0
    failures: list[str] = field(default_factory=list)
    first_ms: int = 0
    last_ms: int = 0

    @property
    def rate(self) -> float:
        """Answered requests per second over the loop's duration."""
        seconds = (self.last_ms - self.first_ms) / 1000
        return self.answered / seconds if seconds > 0 else 0.0


def paced_requests(
    url: str,
    *,
    rate: float,
    seconds: float,
    on_response: Callable[[str, int], None],
    workers: int = 6,
    timeout_s: float = 5.0,
) -> PacedResult:
    """Send ``rate * seconds`` GETs to ``url`` at ``rate`` per second; return what happened."""
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError(f"paced_requests targets only 127.0.0.1, not {url}")
    total = int(rate * seconds)
    slots = itertools.count()
    lock = threading.Lock()
    result = PacedResult(first_ms=now_ms())
    start = time.monotonic()

    def work() -> None:
        with httpx.Client(timeout=timeout_s) as client:
            while (i := next(slots)) < total:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing: the request is not due yet
                try:
                    answer = client.get(url)
                except httpx.HTTPError as exc:
                    with lock:
                        result.failures.append(f"request {i}: {type(exc).__name__}: {exc}")
                    continue
                at = now_ms()
                request_id = answer.headers.get("x-request-id")
                with lock:
                    if answer.status_code != httpx.codes.OK or not request_id:
                        result.failures.append(
                            f"request {i}: {answer.status_code}, X-Request-ID {request_id!r}"
                        )
                        continue
                    result.answered += 1
                    result.last_ms = max(result.last_ms, at)
                on_response(request_id, at)

    threads = [threading.Thread(target=work, name=f"paced-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result
