"""Bounded background traffic through the local ingress, and small polling helpers for the
observability tests on a running platform.

The traffic goes to 127.0.0.1 only (the ingress's published port), one request at a time with a
pacing interval, and stops at ``stop()`` or after ``max_s`` — whichever comes first.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable

import httpx

from stormcheck.clients.prometheus import PrometheusClient

__all__ = ["JOURNEY_REQUESTS", "IngressTraffic", "absent_metrics"]

# One request of each journey the ingress routes (catalogue, cart, checkout) and of the rest.
_CART = "/api/v1/carts/stormcheck-traffic"
JOURNEY_REQUESTS: tuple[tuple[str, str, dict[str, object] | None], ...] = (
    ("GET", "/api/v1/categories", None),
    ("GET", "/api/v1/products", None),
    ("GET", "/api/v1/products/1", None),
    ("PUT", _CART + "/items/1", {"quantity": 1}),
    ("GET", _CART, None),
    ("POST", "/api/v1/orders", {"items": [{"product_id": 1, "quantity": 1}]}),
    ("GET", "/health", None),
    ("GET", "/no-such-page", None),
)


class IngressTraffic:
    """Requests of every journey in a loop on a thread; ``codes`` counts the answers seen."""

    def __init__(self, base_url: str, *, interval_s: float = 0.1, max_s: float = 240.0) -> None:
        self.base_url = base_url
        self.codes: Counter[str] = Counter()
        self._interval_s = interval_s
        self._max_s = max_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ingress-traffic", daemon=True)

    def __enter__(self) -> IngressTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the loop and wait for its last request (bounded by the request timeout)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def snapshot(self) -> Counter[str]:
        """The answers so far: HTTP status codes, or the exception's name."""
        with self._lock:
            return Counter(self.codes)

    def _run(self) -> None:
        deadline = time.monotonic() + self._max_s
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                for method, path, body in JOURNEY_REQUESTS:
                    headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
                    try:
                        answer = client.request(method, path, headers=headers, json=body)
                        outcome = str(answer.status_code)
                    except httpx.HTTPError as exc:
                        outcome = type(exc).__name__
                    with self._lock:
                        self.codes[outcome] += 1
                    if self._stop.wait(self._interval_s):  # pacing, not a readiness wait
                        return


def absent_metrics(
    prometheus: PrometheusClient,
    wanted: Iterable[str],
    *,
    timeout_s: float,
) -> set[str]:
    """The names of ``wanted`` that Prometheus still has no series of after ``timeout_s``."""
    wanted = set(wanted)
    deadline = time.monotonic() + timeout_s
    while True:
        found = {
            s.labels["__name__"]
            for s in prometheus.query_vector('count by (__name__) ({__name__=~".+"})').samples
        }
        missing = wanted - found
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(2)  # poll interval: a scrape every 5 s
