-- Points a purchase of `amount` earns under `program` (at a tier's `multiplier`): amount x
-- points_per_dollar x multiplier, rounded as the program says, capped per sale; nothing below
-- the minimum spend or without an active program.
CREATE OR REPLACE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric, multiplier numeric)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
-- Points a purchase of `amount` earns under `program` at a tier's `multiplier`, capped per sale.
DECLARE
    exact numeric;
BEGIN
    IF program.id IS NULL OR NOT program.is_active OR amount < program.min_spend_amount THEN
        RETURN 0;
    END IF;
    exact := amount * program.points_per_dollar * coalesce(multiplier, 1);
    exact := CASE WHEN program.rounding = 'nearest' THEN round(exact) ELSE floor(exact) END;
    exact := least(exact, coalesce(program.max_points_per_transaction, exact));
    IF exact > 2147483647 THEN
        RAISE EXCEPTION 'a purchase of % earns more points than an account can hold', amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN exact::integer;
END $$;

CREATE OR REPLACE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT loyalty_points_for(program, amount, 1)
$$;
