-- Sample rows for the demo (not part of the schema).
INSERT INTO customers (email, name)
  SELECT 'customer' || g || '@example.com', 'Customer ' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, amount, status, created_at)
  SELECT 1 + (g % 2000), 1 + (g % 500), (ARRAY['pending', 'active', 'shipped'])[1 + g % 3],
         now() - (g || ' minutes')::interval
  FROM generate_series(1, 50000) g;
INSERT INTO users (name, email)
  SELECT 'User ' || g, 'user' || g || '@example.com' FROM generate_series(1, 5000) g;
ANALYZE;
