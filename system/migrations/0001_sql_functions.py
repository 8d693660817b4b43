"""SQL helpers the tables need from their creation: codes, time zones, typed settings."""

from django.db import migrations

SQL = r"""
CREATE FUNCTION loyalty_code_is_valid(code text) RETURNS boolean
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

CREATE FUNCTION loyalty_code(code_length integer) RETURNS text
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

CREATE FUNCTION new_merchant_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT loyalty_code(9) $$;
-- the secret of a customer's card page link: 244 random bits, as hex
CREATE FUNCTION new_card_token() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
$$;
CREATE FUNCTION new_customer_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT loyalty_code(11) $$;

CREATE FUNCTION is_valid_timezone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
-- An IANA 'Area/Location' name the server knows ('Europe/Berlin'), or UTC; merchants/models.py
-- validate_timezone() has the same rule. (pg_timezone_names would be exact, but reads the zone
-- files on every call.)
BEGIN
    IF tz !~ '^[A-Za-z][A-Za-z_]*(/[A-Za-z0-9_+-]+)+$' AND tz NOT IN ('UTC', 'GMT') THEN
        RETURN false;  -- 'Area/Location' names only: not abbreviations such as CEST, fixed offsets
    END IF;
    PERFORM '2000-01-01 00:00+00'::timestamptz AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

CREATE FUNCTION setting_value_is_valid(value text, value_type text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
-- system/models.py SystemSetting.typed_value() applies the same rules.
BEGIN
    CASE value_type
        WHEN 'integer' THEN RETURN value ~ '^-?[0-9]+$';
        WHEN 'decimal' THEN RETURN value ~ '^-?[0-9]+(\.[0-9]+)?$';
        WHEN 'boolean' THEN RETURN value IN ('true', 'false');
        WHEN 'json' THEN
            PERFORM value::jsonb;
            RETURN true;
        ELSE RETURN value IS NOT NULL;
    END CASE;
EXCEPTION WHEN invalid_text_representation OR untranslatable_character OR invalid_parameter_value THEN
    RETURN false;
END $$;

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := OLD.created_at;
    NEW.updated_at := statement_timestamp();
    RETURN NEW;
END $$;

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""

REVERSE_SQL = """
DROP FUNCTION forbid_change();
DROP FUNCTION set_updated_at();
DROP FUNCTION setting_value_is_valid(text, text);
DROP FUNCTION is_valid_timezone(text);
DROP FUNCTION new_customer_code();
DROP FUNCTION new_card_token();
DROP FUNCTION new_merchant_code();
DROP FUNCTION loyalty_code(integer);
DROP FUNCTION loyalty_code_is_valid(text);
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
