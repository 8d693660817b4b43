-- Each loyalty account with its customer and their figures at the merchant: the customers
-- list and a customer's page read it (customers/models.py CustomerSummary). The email and phone
-- are there only when the customer gave them to this merchant (the account's shares_ flags).
CREATE OR REPLACE VIEW customer_summary AS
SELECT a.id AS account_id, a.customer_id, a.merchant_id,
       c.customer_code, c.first_name, c.last_name,
       (CASE WHEN a.shares_email THEN c.email END)::varchar(254) AS email,
       (CASE WHEN a.shares_phone THEN c.phone ELSE '' END)::varchar(32) AS phone,
       c.status AS customer_status,
       a.created_at AS member_since,
       a.current_points, a.total_points_earned, a.total_points_redeemed,
       a.total_spent, a.total_transactions,
       CASE WHEN a.total_transactions > 0 THEN round(a.total_spent / a.total_transactions, 2) ELSE 0 END
           AS average_transaction_value,
       a.last_visit_at,
       ((now() AT TIME ZONE m.timezone)::date - (a.last_visit_at AT TIME ZONE m.timezone)::date)
           AS days_since_last_visit,
       coalesce(r.transactions_last_30_days, 0)::integer AS transactions_last_30_days,
       coalesce(r.spent_last_30_days, 0) AS spent_last_30_days,
       CASE
           WHEN c.status <> 'active' THEN c.status
           WHEN a.last_visit_at IS NULL THEN 'new'
           WHEN a.last_visit_at >= now() - interval '30 days' THEN 'active'
           WHEN a.last_visit_at >= now() - interval '90 days' THEN 'at_risk'
           ELSE 'lapsed'
       END AS loyalty_status
  FROM customer_loyalty_accounts a
  JOIN customers c ON c.id = a.customer_id
  JOIN merchants m ON m.id = a.merchant_id
  LEFT JOIN LATERAL (
      SELECT count(*) AS transactions_last_30_days, sum(t.amount) AS spent_last_30_days
        FROM transactions t
       WHERE t.customer_id = a.customer_id AND t.merchant_id = a.merchant_id
         AND t.status = 'completed' AND t.created_at >= now() - interval '30 days'
  ) r ON true;
