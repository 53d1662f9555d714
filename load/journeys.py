"""Closed-model users of the shop: weighted shopper journeys and an API-only client."""

from __future__ import annotations

import random
import uuid

from locust import between, constant_pacing, task

from load.lean_http import LeanHttpUser
from load.shop_api import PRODUCT_IDS, SEARCH_WORDS, call, checkout

__all__ = ["ApiUser", "ShopperUser"]

_FALLBACK_CATEGORIES = ("books", "music", "games", "garden", "kitchen", "outdoor", "toys")


class ShopperUser(LeanHttpUser):
    """A person in a browser: browses, looks at products, searches, fills a cart, checks out."""

    weight = 4
    wait_time = between(0.5, 2.0)
    network_timeout = 5.0
    connection_timeout = 2.0

    def on_start(self) -> None:
        """A fresh cart, and the category list as the home page shows it."""
        self.cart_id = uuid.uuid4().hex
        self.cart_lines = 0
        answer = call(self.client, "GET", "/api/v1/categories", name="GET /api/v1/categories")
        slugs = [item["slug"] for item in (answer or {}).get("items", [])]
        self.categories = tuple(slugs) or _FALLBACK_CATEGORIES

    @task(5)
    def browse_catalogue(self) -> None:
        """Open a category page."""
        category = random.choice(self.categories)
        page = random.randint(1, 5)
        call(
            self.client,
            "GET",
            f"/api/v1/products?category={category}&page={page}&page_size=20",
            name="GET /api/v1/products?category",
        )

    @task(4)
    def view_product(self) -> None:
        """Open a product's page."""
        product = random.choice(PRODUCT_IDS)
        call(self.client, "GET", f"/api/v1/products/{product}", name="GET /api/v1/products/{id}")

    @task(2)
    def search(self) -> None:
        """Search the catalogue."""
        word = random.choice(SEARCH_WORDS)
        call(self.client, "GET", f"/api/v1/products?q={word}", name="GET /api/v1/products?q")

    @task(2)
    def add_to_cart(self) -> None:
        """Put a product in the cart and look at the cart."""
        product = random.choice(PRODUCT_IDS)
        call(
            self.client,
            "PUT",
            f"/api/v1/carts/{self.cart_id}/items/{product}",
            name="PUT /api/v1/carts/{cart}/items/{id}",
            json={"quantity": random.randint(1, 3)},
        )
        self.cart_lines += 1
        call(self.client, "GET", f"/api/v1/carts/{self.cart_id}", name="GET /api/v1/carts/{cart}")

    @task(1)
    def check_out(self) -> None:
        """Buy what is in the cart (adding something first if it is empty), then start a new cart."""
        if not self.cart_lines:
            self.add_to_cart()
        checkout(self.client, {"cart_id": self.cart_id})
        self.cart_id = uuid.uuid4().hex
        self.cart_lines = 0


class ApiUser(LeanHttpUser):
    """A partner integration: pages the catalogue and orders by product id, once a second."""

    weight = 1
    wait_time = constant_pacing(1.0)
    network_timeout = 5.0
    connection_timeout = 2.0

    @task(6)
    def page_products(self) -> None:
        """Fetch a page of the full catalogue."""
        call(
            self.client,
            "GET",
            f"/api/v1/products?page={random.randint(1, 12)}&page_size=100",
            name="GET /api/v1/products?page",
        )

    @task(3)
    def fetch_product(self) -> None:
        """Fetch one product."""
        product = random.choice(PRODUCT_IDS)
        call(self.client, "GET", f"/api/v1/products/{product}", name="GET /api/v1/products/{id}")

    @task(1)
    def place_order(self) -> None:
        """Order one to three products directly."""
        items = [
            {"product_id": p, "quantity": random.randint(1, 2)}
            for p in random.sample(PRODUCT_IDS, random.randint(1, 3))
        ]
        checkout(self.client, {"items": items})
