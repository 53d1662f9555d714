"""The OpenAPI 3.0 document served at /openapi.json."""

from __future__ import annotations

from typing import Any

from shop import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "error")
_ERRORS = {"400": _ERROR, "404": _ERROR, "413": _ERROR, "422": _ERROR, "503": _ERROR}
_INT32 = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_CART_ID = {
    "name": "cart_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
_TEXT = {"type": "string", "pattern": "^[^\\u0000]*$"}  # no NUL: PostgreSQL text cannot hold it
_PRODUCT_ID = {"name": "product_id", "in": "path", "required": True, "schema": _INT32}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    # The handlers read an empty value (`?page=`, as HTML forms send) as an absent parameter.
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "schema": schema,
    }


def openapi_document() -> dict[str, Any]:
    """The API description, kept next to the handlers it describes."""
    price = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "shop",
            "version": __version__,
            "description": "Reference web-shop API tested by stormcheck.",
        },
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": _json({"type": "object"}, "alive")},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness (database, migrations, cache)",
                    "responses": {
                        "200": _json(_ref("Readiness"), "ready"),
                        "503": _json(_ref("Readiness"), "not ready"),
                    },
                }
            },
            "/api/v1/categories": {
                "get": {
                    "summary": "List categories",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["items"],
                                "properties": {
                                    "items": {"type": "array", "items": _ref("Category")}
                                },
                            },
                            "categories",
                        ),
                        "503": _ERROR,
                    },
                }
            },
            "/api/v1/products": {
                "get": {
                    "summary": "List, filter and search products",
                    "parameters": [
                        _query(
                            "page",
                            {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1},
                        ),
                        _query(
                            "page_size",
                            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                        ),
                        _query("category", {**_TEXT, "maxLength": 64}),
                        _query("min_price_cents", price),
                        _query("max_price_cents", price),
                        _query("q", {**_TEXT, "maxLength": 100}),
                    ],
                    "responses": {
                        "200": _json(_ref("ProductPage"), "a page of products"),
                        **_ERRORS,
                    },
                }
            },
            "/api/v1/products/{product_id}": {
                "get": {
                    "summary": "Product detail",
                    "parameters": [_PRODUCT_ID],
                    "responses": {"200": _json(_ref("Product"), "the product"), **_ERRORS},
                }
            },
            "/api/v1/carts/{cart_id}": {
                "get": {
                    "summary": "Cart contents",
                    "parameters": [_CART_ID],
                    "responses": {"200": _json(_ref("Cart"), "the cart"), **_ERRORS},
                },
                "delete": {
                    "summary": "Empty the cart",
                    "parameters": [_CART_ID],
                    "responses": {"204": {"description": "deleted"}, **_ERRORS},
                },
            },
            "/api/v1/carts/{cart_id}/items/{product_id}": {
                "put": {
                    "summary": "Set a line's quantity",
                    "parameters": [_CART_ID, _PRODUCT_ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["quantity"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "quantity": {
                                            "type": "integer",
                                            "minimum": 1,
                                            "maximum": 1000,
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json(_ref("Cart"), "the cart"), **_ERRORS},
                },
                "delete": {
                    "summary": "Remove a line",
                    "parameters": [_CART_ID, _PRODUCT_ID],
                    "responses": {"200": _json(_ref("Cart"), "the cart"), **_ERRORS},
                },
            },
            "/api/v1/orders": {
                "post": {
                    "summary": "Checkout (idempotent)",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Checkout")}},
                    },
                    "responses": {
                        "201": _json(_ref("Order"), "order created"),
                        "200": _json(_ref("Order"), "replay: the order created by this key"),
                        **_ERRORS,
                    },
                }
            },
            "/api/v1/orders/{order_id}": {
                "get": {
                    "summary": "Order detail",
                    "parameters": [
                        {
                            "name": "order_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {"200": _json(_ref("Order"), "the order"), **_ERRORS},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                },
                "Readiness": {
                    "type": "object",
                    "required": ["ready", "draining", "checks"],
                    "properties": {
                        "ready": {"type": "boolean"},
                        "draining": {"type": "boolean"},
                        "checks": {"type": "object"},
                    },
                },
                "Category": {
                    "type": "object",
                    "required": ["id", "slug", "name", "product_count"],
                    "properties": {
                        "id": {"type": "integer"},
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "product_count": {"type": "integer"},
                    },
                },
                "Product": {
                    "type": "object",
                    "required": ["id", "sku", "name", "description", "price_cents", "category"],
                    "properties": {
                        "id": {"type": "integer"},
                        "sku": {"type": "string"},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "price_cents": {"type": "integer"},
                        "category": {"type": "string"},
                    },
                },
                "ProductPage": {
                    "type": "object",
                    "required": ["items", "page", "page_size", "total"],
                    "properties": {
                        "items": {"type": "array", "items": _ref("Product")},
                        "page": {"type": "integer"},
                        "page_size": {"type": "integer"},
                        "total": {"type": "integer"},
                    },
                },
                "Cart": {
                    "type": "object",
                    "required": ["cart_id", "items"],
                    "properties": {
                        "cart_id": {"type": "string"},
                        "items": {"type": "array", "items": _ref("Line")},
                    },
                },
                "Line": {
                    "type": "object",
                    "required": ["product_id", "quantity"],
                    "properties": {
                        "product_id": {"type": "integer"},
                        "quantity": {"type": "integer"},
                        "unit_price_cents": {"type": "integer"},
                    },
                },
                "Checkout": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "exactly one of items or cart_id",
                    "properties": {
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 100,
                            "items": {
                                "type": "object",
                                "required": ["product_id", "quantity"],
                                "additionalProperties": False,
                                "properties": {
                                    "product_id": _INT32,
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                                },
                            },
                        },
                        "cart_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                    },
                },
                "Order": {
                    "type": "object",
                    "required": ["id", "idempotency_key", "total_cents", "created_at", "lines"],
                    "properties": {
                        "id": {"type": "integer"},
                        "idempotency_key": {"type": "string"},
                        "total_cents": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "lines": {"type": "array", "items": _ref("Line")},
                    },
                },
            }
        },
    }
