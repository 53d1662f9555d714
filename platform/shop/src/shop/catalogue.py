"""Categories and products: queries against PostgreSQL, read through the cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shop.cache import CatalogueCache, cache_key

if TYPE_CHECKING:
    from shop.database import Pool

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ProductQuery:
    """Paging, filtering and search parameters of a product listing."""

    page: int = 1
    page_size: int = 20
    category: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    search: str | None = None

    def fingerprint(self) -> str:
        """A short stable digest of the query, used in cache keys."""
        canonical = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]


_PRODUCT_COLUMNS = """
    p.id, p.sku, p.name, p.description, p.price_cents,
    c.slug AS category
"""


class Catalogue:
    """The catalogue read model."""

    def __init__(self, pool: Pool, cache: CatalogueCache) -> None:
        self._pool = pool
        self._cache = cache

    async def categories(self) -> list[dict[str, Any]]:
        """Every category, ordered by id."""
        return await self._cache.read_through(cache_key("categories"), self._load_categories)

    async def products(self, query: ProductQuery) -> dict[str, Any]:
        """One page of products matching `query`, with the total number of matches."""
        return await self._cache.read_through(
            cache_key("products", query.fingerprint()), lambda: self._load_products(query)
        )

    async def product(self, product_id: int) -> dict[str, Any] | None:
        """One product, or None when there is no such product."""
        found = await self._cache.read_through(
            cache_key("product", product_id), lambda: self._load_product(product_id)
        )
        return found or None

    async def _load_categories(self) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                """
                SELECT c.id, c.slug, c.name, count(p.id) AS product_count
                FROM categories c LEFT JOIN products p ON p.category_id = c.id
                GROUP BY c.id ORDER BY c.id
                """
            )
            return [dict(row) for row in await cursor.fetchall()]

    async def _load_products(self, query: ProductQuery) -> dict[str, Any]:
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if query.category is not None:
            conditions.append("c.slug = %(category)s")
            params["category"] = query.category
        if query.min_price_cents is not None:
            conditions.append("p.price_cents >= %(min_price)s")
            params["min_price"] = query.min_price_cents
        if query.max_price_cents is not None:
            conditions.append("p.price_cents <= %(max_price)s")
            params["max_price"] = query.max_price_cents
        if query.search:
            conditions.append("p.search @@ plainto_tsquery('english', %(search)s)")
            params["search"] = query.search
        # Only the fixed fragments above are interpolated; values travel as parameters.
        where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        params["limit"] = query.page_size
        params["offset"] = (query.page - 1) * query.page_size
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT count(*) AS total FROM products p JOIN categories c ON c.id = p.category_id {where}",
                params,
            )
            total_row = await cursor.fetchone()
            cursor = await conn.execute(
                f"SELECT {_PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id "
                f"{where} ORDER BY p.id LIMIT %(limit)s OFFSET %(offset)s",
                params,
            )
            items = [dict(row) for row in await cursor.fetchall()]
        return {
            "items": items,
            "page": query.page,
            "page_size": query.page_size,
            "total": total_row["total"] if total_row else 0,
        }

    async def _load_product(self, product_id: int) -> dict[str, Any]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {_PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id "
                "WHERE p.id = %(id)s",
                {"id": product_id},
            )
            row = await cursor.fetchone()
        # An empty dict is cached too, so repeated lookups of a missing id stay off the database.
        return dict(row) if row else {}
