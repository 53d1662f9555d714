-- Catalogue (categories, products) and orders with their lines.
-- orders.idempotency_key is UNIQUE: the database, not process memory, guarantees
-- at most one order per key across every replica.

CREATE TABLE categories (
    id integer PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL
);

CREATE TABLE products (
    id integer PRIMARY KEY,
    category_id integer NOT NULL REFERENCES categories (id),
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    description text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents > 0),
    search tsvector GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || description)) STORED
);

CREATE INDEX products_category_idx ON products (category_id, id);
CREATE INDEX products_price_idx ON products (price_cents);
CREATE INDEX products_search_idx ON products USING gin (search);

CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL,
    request_hash text NOT NULL,
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_idempotency_key_unique UNIQUE (idempotency_key)
);

CREATE TABLE order_lines (
    order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id integer NOT NULL REFERENCES products (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0),
    PRIMARY KEY (order_id, product_id)
);
