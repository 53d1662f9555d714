-- depends: 0001.schema
-- Deterministic seed: 12 categories and 1,200 products. Every value is a pure
-- function of the row number, so every database seeded by this migration is identical.

INSERT INTO categories (id, slug, name)
SELECT t.i, lower(t.n), t.n
FROM unnest(ARRAY[
    'Books', 'Music', 'Games', 'Garden', 'Kitchen', 'Outdoor',
    'Toys', 'Tools', 'Office', 'Sports', 'Beauty', 'Electronics'
]) WITH ORDINALITY AS t (n, i);

INSERT INTO products (id, category_id, sku, name, description, price_cents)
SELECT
    i,
    (i - 1) % 12 + 1,
    'SKU-' || lpad(i::text, 5, '0'),
    (ARRAY['Sturdy', 'Elegant', 'Compact', 'Rustic', 'Modern', 'Classic', 'Vivid', 'Quiet', 'Rapid', 'Gentle'])[1 + i % 10]
        || ' '
        || (ARRAY['Lamp', 'Chair', 'Kettle', 'Backpack', 'Speaker', 'Notebook', 'Puzzle', 'Wrench', 'Blender', 'Jacket', 'Candle'])[1 + (i / 10) % 11]
        || ' ' || i,
    'A ' || (ARRAY['durable', 'handmade', 'lightweight', 'recycled', 'premium', 'budget'])[1 + i % 6]
        || ' item for everyday use, batch ' || (i % 37),
    100 + (i * 7919) % 49900
FROM generate_series(1, 1200) AS i;
