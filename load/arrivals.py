"""The open model: generators that send requests on a fixed schedule, whatever the answers do.

A closed-model user waits for each answer before its next request, so a stalled server slows
the load down and hides the stall (coordinated omission). An :class:`ArrivalUser` instead sends
request k at ``start + k / rate`` in its own greenlet; the time it was due is the request's
intended send time, from which the request log measures latency.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pool import Pool
from locust import constant, task
from locust.user.task import LOCUST_STATE_STOPPING

from load.lean_http import LeanClient, LeanHttpUser
from load.shop_api import PRODUCT_IDS, SEARCH_WORDS, call, checkout

__all__ = ["MIX", "ArrivalUser"]

Arrival = Callable[[LeanClient, float], Any]


def _categories(client: LeanClient, due: float) -> Any:
    return call(client, "GET", "/api/v1/categories", name="GET /api/v1/categories", intended_ms=due)


def _category_page(client: LeanClient, due: float) -> Any:
    return call(
        client,
        "GET",
        f"/api/v1/products?category=books&page={random.randint(1, 5)}",
        name="GET /api/v1/products?category",
        intended_ms=due,
    )


def _product(client: LeanClient, due: float) -> Any:
    return call(
        client,
        "GET",
        f"/api/v1/products/{random.choice(PRODUCT_IDS)}",
        name="GET /api/v1/products/{id}",
        intended_ms=due,
    )


def _search(client: LeanClient, due: float) -> Any:
    return call(
        client,
        "GET",
        f"/api/v1/products?q={random.choice(SEARCH_WORDS)}",
        name="GET /api/v1/products?q",
        intended_ms=due,
    )


def _cart(client: LeanClient, due: float) -> Any:
    # a one-line cart of its own per arrival: the cart SLOs measure traffic, not a session
    return call(
        client,
        "PUT",
        f"/api/v1/carts/{uuid.uuid4().hex}/items/{random.choice(PRODUCT_IDS)}",
        name="PUT /api/v1/carts/{cart}/items/{id}",
        json={"quantity": 1},
        intended_ms=due,
    )


def _order(client: LeanClient, due: float) -> Any:
    items = [{"product_id": random.choice(PRODUCT_IDS), "quantity": 1}]
    return checkout(client, {"items": items}, intended_ms=due)


# The request mix of one arrival: (weight, request).
MIX: tuple[tuple[int, Arrival], ...] = (
    (2, _categories),
    (4, _category_page),
    (6, _product),
    (2, _search),
    (1, _cart),
    (1, _order),
)


class ArrivalUser(LeanHttpUser):
    """One arrival generator: ``--arrival-rate / --arrival-generators`` requests per second.

    Each arrival in flight holds its own keep-alive socket (``--max-in-flight`` bounds them).
    """

    wait_time = constant(0)
    network_timeout = 5.0
    connection_timeout = 2.0

    @task
    def generate_arrivals(self) -> None:
        """Send arrivals on schedule until the user is asked to stop; let in-flight ones finish."""
        options = self.environment.parsed_options
        interval_ms = 1000.0 * options.arrival_generators / options.arrival_rate
        weights = [w for w, _ in MIX]
        requests = [r for _, r in MIX]
        pool = Pool(options.max_in_flight)  # when full, due arrivals wait: lag shows it
        due = time.time() * 1000 + random.uniform(0, interval_ms)
        try:
            while self._state != LOCUST_STATE_STOPPING:
                delay_s = (due - time.time() * 1000) / 1000
                if delay_s > 0:
                    gevent.sleep(min(delay_s, 0.1))
                    continue  # re-check the state at least every 100 ms
                request = random.choices(requests, weights)[0]
                pool.spawn(request, self.client, due)
                due += interval_ms
            pool.join(timeout=self.network_timeout)
        finally:
            pool.kill(block=False)
