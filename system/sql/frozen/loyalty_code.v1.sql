-- A new random code of the given length with its check character.
CREATE OR REPLACE FUNCTION loyalty_code(code_length integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
-- code_length - 1 random characters from gen_random_uuid()'s random bytes, then the check character.
DECLARE
    alphabet constant text := '23456789ABCDEFGHJKLMNPQRSTVWXYZ';
    random_bytes bytea;
    position integer := 16;
    byte integer;
    body text := '';
    total integer := 0;
    inverse integer := 1;
BEGIN
    IF code_length NOT BETWEEN 2 AND 30 THEN
        RAISE EXCEPTION 'a code has 2 to 30 characters, not %', code_length USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WHILE length(body) < code_length - 1 LOOP
        IF position >= 16 THEN
            random_bytes := uuid_send(gen_random_uuid());
            position := 0;
        END IF;
        byte := get_byte(random_bytes, position);
        -- bytes 6 and 8 carry the UUID version and variant; 248 = 8 * 31 keeps the draw uniform
        IF position NOT IN (6, 8) AND byte < 248 THEN
            body := body || substr(alphabet, byte % 31 + 1, 1);
            total := total + length(body) * (byte % 31);
        END IF;
        position := position + 1;
    END LOOP;
    WHILE (inverse * code_length) % 31 <> 1 LOOP
        inverse := inverse + 1;
    END LOOP;
    RETURN body || substr(alphabet, ((-total * inverse) % 31 + 31) % 31 + 1, 1);
END $$;
