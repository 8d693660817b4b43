CREATE OR REPLACE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
-- Points a purchase of `amount` earns under `program`.
DECLARE
    exact numeric;
BEGIN
    IF program.id IS NULL OR NOT program.is_active OR amount < program.min_spend_amount THEN
        RETURN 0;
    END IF;
    exact := CASE WHEN program.rounding = 'nearest' THEN round(amount * program.points_per_dollar)
                  ELSE floor(amount * program.points_per_dollar) END;
    exact := least(exact, coalesce(program.max_points_per_transaction, exact));
    IF exact > 2147483647 THEN
        RAISE EXCEPTION 'a purchase of % earns more points than an account can hold', amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN exact::integer;
END $$;
