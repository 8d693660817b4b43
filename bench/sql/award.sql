-- A completed sale of a random customer at one of the first :merchants merchants of bench_merchants;
-- the triggers award the points. With merchants=1 every client sells for the same merchant.
\set m random(1, :merchants)
\set c random(1, :customers)
INSERT INTO transactions (merchant_id, customer_id, amount, currency, payment_method, status)
  SELECT m.id, c.id, 12.50, '', 'card', 'completed'
    FROM bench_merchants m, bench_customers c WHERE m.i = :m AND c.i = :c;
