-- When points coming in at `earned_at` expire under a program that keeps them
-- `points_expiry_days`: that many days later, or never (NULL) when it sets no expiry or there
-- is no program. STABLE as its arithmetic is (a day is local), so the planner inlines it.
CREATE OR REPLACE FUNCTION loyalty_lot_expiry(points_expiry_days integer, earned_at timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT earned_at + points_expiry_days * interval '1 day'
$$;
