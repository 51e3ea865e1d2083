-- Sample rows (not part of the schema).
INSERT INTO accounts (label) SELECT 'account ' || g FROM generate_series(1, 3000) g;
INSERT INTO entries (account_id, amount, booked_at)
  SELECT 1 + g % 3000, (g % 1000) / 10.0, now() - (g || ' minutes')::interval FROM generate_series(1, 20000) g;
ANALYZE;
