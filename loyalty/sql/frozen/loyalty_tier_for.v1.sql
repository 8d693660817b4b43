-- The tier a number of points earned in 12 months reaches in a program.
CREATE OR REPLACE FUNCTION loyalty_tier_for(p_program uuid, p_points integer) RETURNS loyalty_tiers
LANGUAGE sql STABLE AS $$
-- The highest tier of the program that `p_points` earned in 12 months reach (NULL if none).
    SELECT * FROM loyalty_tiers WHERE program_id = p_program AND min_points <= p_points
     ORDER BY min_points DESC LIMIT 1
$$;
