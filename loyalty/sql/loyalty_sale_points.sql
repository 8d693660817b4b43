-- The points a sale of `amount` earns under `program` at a tier's `multiplier` when points paid
-- `discount` of it: on the whole bill if the program earns on the total, else on what was paid
-- in money. The one rule for a sale's points_earned.
CREATE OR REPLACE FUNCTION loyalty_sale_points(program loyalty_programs, amount numeric, discount numeric,
                                               multiplier numeric) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT loyalty_points_for(program, CASE WHEN program.earn_on_total THEN amount ELSE amount - discount END,
                              multiplier)
$$;
