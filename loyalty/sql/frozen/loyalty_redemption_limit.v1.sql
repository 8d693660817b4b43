-- The most that points may pay of a bill of `amount` under `program`: its
-- max_redemption_percent of the bill, rounded down to the cent.
CREATE OR REPLACE FUNCTION loyalty_redemption_limit(program loyalty_programs, amount numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(floor(amount * program.max_redemption_percent) / 100, 2)
$$;
