-- When points coming in at `earned_at` expire under `program`: points_expiry_days later, or
-- never (NULL) when the program sets no expiry or there is no program. STABLE as its
-- arithmetic is (a day is local), so the planner inlines it.
CREATE OR REPLACE FUNCTION loyalty_lot_expiry(program loyalty_programs, earned_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT earned_at + program.points_expiry_days * interval '1 day'
$$;
