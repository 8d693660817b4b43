-- The database work of one counter sale, as the web app does it: resolve the scanned code to
-- a customer and log the scan, then insert the completed sale (the triggers award the points,
-- update the totals, visits, analytics and audit log) and mark the scan used.
-- bench_counter (made by the harness) holds the cashiers and customer codes the HTTP run uses.
\set i random(1, :rows)
SELECT merchant_id, user_id, customer_code FROM bench_counter WHERE i = :i \gset
SELECT id AS customer_id FROM customers WHERE customer_code = :customer_code AND status = 'active' \gset
INSERT INTO qr_scan_logs (merchant_id, scanned_by_id, scanned_code, scan_result, customer_id, ip_address, user_agent)
  VALUES (:merchant_id, :user_id, :customer_code, 'success', :customer_id, '127.0.0.1', 'pgbench')
  RETURNING id AS scan_id \gset
BEGIN;
SELECT set_config('app.user_id', :user_id, true);
INSERT INTO transactions (merchant_id, customer_id, amount, currency, payment_method, status, idempotency_key,
                          created_by_id)
  VALUES (:merchant_id, :customer_id, 12.50, '', 'card', 'completed', 'pgbench-' || :client_id::text || '-' || random()::text,
          :user_id)
  RETURNING id AS sale_id \gset
UPDATE qr_scan_logs SET sale_id = :sale_id
 WHERE id = :scan_id AND sale_id IS NULL AND created_at BETWEEN now() - interval '1 hour' AND now() + interval '1 hour';
END;
