-- A customer's standing at a merchant in one call: balance, tier, next tier, expiring points
-- (the counter and the API read it).
CREATE OR REPLACE FUNCTION loyalty_account_standing(p_customer uuid, p_merchant uuid, p_soon_days integer)
RETURNS TABLE (o_balance integer, o_points_last_year integer, o_tier text, o_multiplier numeric, o_next_tier text,
               o_points_to_next integer, o_expiring_points integer, o_expiring_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
-- The balance here (0 without an account); the points earned here in 12 months and the tier they reach
-- (NULL when the program has no tiers), the next tier and what it needs; the points expiring within
-- p_soon_days and the first of those expiries.
BEGIN
    RETURN QUERY
    SELECT coalesce(a.current_points, 0), y.points, t.name::text, t.multiplier::numeric, n.name::text,
           n.min_points - y.points, x.points, x.expires_at
      FROM loyalty_programs p
     RIGHT JOIN (SELECT 1) one ON p.merchant_id = p_merchant AND p.is_active
      LEFT JOIN customer_loyalty_accounts a ON a.customer_id = p_customer AND a.merchant_id = p_merchant
     CROSS JOIN LATERAL (
           SELECT CASE WHEN EXISTS (SELECT 1 FROM loyalty_tiers lt WHERE lt.program_id = p.id)
                       THEN loyalty_points_last_year(p_customer, p_merchant) END AS points) y
      LEFT JOIN LATERAL (SELECT * FROM loyalty_tier_for(p.id, y.points) f WHERE f.id IS NOT NULL) t ON true
      LEFT JOIN LATERAL (SELECT lt.name, lt.min_points FROM loyalty_tiers lt
                          WHERE lt.program_id = p.id AND lt.min_points > y.points
                          ORDER BY lt.min_points LIMIT 1) n ON true
      LEFT JOIN LATERAL (SELECT sum(l.remaining)::integer AS points, min(l.expires_at) AS expires_at
                           FROM points_lots l
                          WHERE l.customer_loyalty_account_id = a.id AND l.remaining > 0
                            AND l.expires_at < now() + p_soon_days * interval '1 day') x ON true;
END
$$;
