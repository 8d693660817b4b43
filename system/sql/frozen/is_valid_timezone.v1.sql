-- Whether a text is a time zone name a merchant may use.
CREATE OR REPLACE FUNCTION is_valid_timezone(tz text) RETURNS boolean
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
