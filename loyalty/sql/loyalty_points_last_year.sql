-- The points a customer earned at a merchant in the last 12 months, net of take-backs: what
-- places them in a tier.
CREATE OR REPLACE FUNCTION loyalty_points_last_year(p_customer uuid, p_merchant uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
-- Points the customer earned at the merchant in the last 12 months, less what refunds took back.
    SELECT coalesce(sum(ledger_points_earned(p.transaction_type, p.points_change)), 0)::integer
      FROM customer_loyalty_accounts a
      JOIN points_transactions p ON p.customer_loyalty_account_id = a.id
     WHERE a.customer_id = p_customer AND a.merchant_id = p_merchant
       AND p.created_at > now() - interval '12 months'
       AND p.transaction_type IN ('earn', 'reverse')
$$;
