"""HTTP handlers of the shop API (`/api/v1/...`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shop.cart import CartStore, validate_cart_id
from shop.catalogue import MAX_PAGE_SIZE, Catalogue, ProductQuery
from shop.checkout import Orders, parse_checkout, validate_idempotency_key
from shop.database import Pool
from shop.errors import ApiError, DependencyUnavailable
from shop.metrics import Metrics
from shop.settings import Settings

log = logging.getLogger(__name__)

MAX_SEARCH_LENGTH = 100


@dataclass(frozen=True)
class Services:
    """What the handlers need, built by the application's lifespan."""

    settings: Settings
    metrics: Metrics
    pool: Pool
    catalogue: Catalogue
    carts: CartStore
    orders: Orders


def services(request: Request) -> Services:
    """The services of the application serving `request`."""
    found: Services = request.app.state.services
    return found


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request body parsed as JSON; 413 beyond `max_bytes`, 400 when malformed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "body_too_large", f"the body must not exceed {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"the body must not exceed {max_bytes} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from exc


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from exc
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}")
    return value


def _text_param(request: Request, name: str, max_length: int) -> str | None:
    raw = request.query_params.get(name) or None
    if raw is None:
        return None
    if len(raw) > max_length:
        raise ApiError(400, "invalid_parameter", f"{name} must be at most {max_length} characters")
    # PostgreSQL text cannot hold NUL: the query would fail with a 500.
    if "\x00" in raw:
        raise ApiError(400, "invalid_parameter", f"{name} must not contain NUL characters")
    return raw


def _path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not isinstance(raw, int) or not 1 <= raw <= 2**31 - 1:
        raise ApiError(404, "not_found", f"no such {name.removesuffix('_id')}")
    return raw


async def list_categories(request: Request) -> Response:
    """GET /api/v1/categories"""
    return JSONResponse({"items": await services(request).catalogue.categories()})


async def list_products(request: Request) -> Response:
    """GET /api/v1/products?page&page_size&category&min_price_cents&max_price_cents&q"""
    search = _text_param(request, "q", MAX_SEARCH_LENGTH)
    category = _text_param(request, "category", 64)
    limit = 2**31 - 1
    query = ProductQuery(
        page=_int_param(request, "page", 1, 1, 10_000) or 1,
        page_size=_int_param(request, "page_size", 20, 1, MAX_PAGE_SIZE) or 20,
        category=category,
        min_price_cents=_int_param(request, "min_price_cents", None, 0, limit),
        max_price_cents=_int_param(request, "max_price_cents", None, 0, limit),
        search=search,
    )
    return JSONResponse(await services(request).catalogue.products(query))


async def get_product(request: Request) -> Response:
    """GET /api/v1/products/{product_id}"""
    product = await services(request).catalogue.product(_path_int(request, "product_id"))
    if product is None:
        raise ApiError(404, "not_found", "no such product")
    return JSONResponse(product)


def _cart_body(cart_id: str, items: dict[int, int]) -> dict[str, Any]:
    return {
        "cart_id": cart_id,
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in sorted(items.items())],
    }


async def get_cart(request: Request) -> Response:
    """GET /api/v1/carts/{cart_id}"""
    cart_id = validate_cart_id(request.path_params["cart_id"])
    return JSONResponse(_cart_body(cart_id, await services(request).carts.items(cart_id)))


async def put_cart_item(request: Request) -> Response:
    """PUT /api/v1/carts/{cart_id}/items/{product_id} with {"quantity": n} (1..1000)."""
    svc = services(request)
    cart_id = validate_cart_id(request.path_params["cart_id"])
    product_id = _path_int(request, "product_id")
    body = await read_json(request, svc.settings.max_body_bytes)
    quantity = body.get("quantity") if isinstance(body, dict) else None
    if (
        not isinstance(body, dict)
        or set(body) != {"quantity"}
        or isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 1 <= quantity <= 1000
    ):
        raise ApiError(422, "invalid_body", 'the body must be {"quantity": n} with 1 <= n <= 1000')
    if await svc.catalogue.product(product_id) is None:
        raise ApiError(404, "not_found", "no such product")
    await svc.carts.set_quantity(cart_id, product_id, quantity)
    return JSONResponse(_cart_body(cart_id, await svc.carts.items(cart_id)))


async def delete_cart_item(request: Request) -> Response:
    """DELETE /api/v1/carts/{cart_id}/items/{product_id}"""
    svc = services(request)
    cart_id = validate_cart_id(request.path_params["cart_id"])
    await svc.carts.remove(cart_id, _path_int(request, "product_id"))
    return JSONResponse(_cart_body(cart_id, await svc.carts.items(cart_id)))


async def delete_cart(request: Request) -> Response:
    """DELETE /api/v1/carts/{cart_id}"""
    cart_id = validate_cart_id(request.path_params["cart_id"])
    await services(request).carts.clear(cart_id)
    return Response(status_code=204)


async def checkout(request: Request) -> Response:
    """POST /api/v1/orders with an Idempotency-Key header: create the order exactly once."""
    svc = services(request)
    key = validate_idempotency_key(request.headers.get("idempotency-key"))
    checkout_request = parse_checkout(await read_json(request, svc.settings.max_body_bytes))
    existing = await svc.orders.find_by_key(key, checkout_request.fingerprint)
    if existing is not None:
        svc.metrics.order_replays.inc()
        return JSONResponse(existing, headers={"Idempotent-Replayed": "true"})
    items = checkout_request.items
    if checkout_request.cart_id is not None:
        cart = await svc.carts.items(checkout_request.cart_id)
        if not cart:
            raise ApiError(422, "empty_cart", "the cart is empty")
        items = tuple(sorted(cart.items()))
    placed = await svc.orders.place(key, checkout_request.fingerprint, items)
    if not placed.created:
        svc.metrics.order_replays.inc()
        return JSONResponse(placed.order, headers={"Idempotent-Replayed": "true"})
    svc.metrics.orders.inc()
    log.info(
        "order created",
        extra={"order_id": placed.order["id"], "total_cents": placed.order["total_cents"]},
    )
    if checkout_request.cart_id is not None:
        try:
            await svc.carts.clear(checkout_request.cart_id)
        except DependencyUnavailable as exc:
            # The order is committed; a stale cart is a nuisance, not a failure.
            log.warning("cart not cleared after checkout", extra={"reason": exc.reason})
    return JSONResponse(
        placed.order, status_code=201, headers={"Location": f"/api/v1/orders/{placed.order['id']}"}
    )


async def get_order(request: Request) -> Response:
    """GET /api/v1/orders/{order_id}"""
    order_id = request.path_params["order_id"]
    order = await services(request).orders.get(order_id) if 1 <= order_id <= 2**63 - 1 else None
    if order is None:
        raise ApiError(404, "not_found", "no such order")
    return JSONResponse(order)


def routes() -> list[Route]:
    """The API's routes."""
    return [
        Route("/api/v1/categories", list_categories, methods=["GET"]),
        Route("/api/v1/products", list_products, methods=["GET"]),
        Route("/api/v1/products/{product_id:int}", get_product, methods=["GET"]),
        Route("/api/v1/carts/{cart_id}", get_cart, methods=["GET"]),
        Route("/api/v1/carts/{cart_id}", delete_cart, methods=["DELETE"]),
        Route("/api/v1/carts/{cart_id}/items/{product_id:int}", put_cart_item, methods=["PUT"]),
        Route(
            "/api/v1/carts/{cart_id}/items/{product_id:int}", delete_cart_item, methods=["DELETE"]
        ),
        Route("/api/v1/orders", checkout, methods=["POST"]),
        Route("/api/v1/orders/{order_id:int}", get_order, methods=["GET"]),
    ]
