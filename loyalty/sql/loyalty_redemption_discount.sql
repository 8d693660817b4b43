-- What `points` pay of a bill under `program`: points x point value, rounded to the cent.
CREATE OR REPLACE FUNCTION loyalty_redemption_discount(program loyalty_programs, points integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT round(points * program.point_value, 2)
$$;
