-- Whether a merchant or customer code's check character is right.
CREATE OR REPLACE FUNCTION loyalty_code_is_valid(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
-- A code is valid when sum(position * value) over its characters is a multiple of 31
-- (system/codes.py has the same rule).
DECLARE
    alphabet constant text := '23456789ABCDEFGHJKLMNPQRSTVWXYZ';
    total integer := 0;
    value integer;
BEGIN
    IF length(code) = 0 OR length(code) > 30 THEN
        RETURN false;
    END IF;
    FOR i IN 1..length(code) LOOP
        value := strpos(alphabet, substr(code, i, 1)) - 1;
        IF value < 0 THEN
            RETURN false;
        END IF;
        total := total + i * value;
    END LOOP;
    RETURN total % 31 = 0;
END $$;
