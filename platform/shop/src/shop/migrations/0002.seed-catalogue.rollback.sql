DELETE FROM products;
DELETE FROM categories;
