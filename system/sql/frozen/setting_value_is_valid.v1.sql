-- Whether a system setting's text is a value of its type.
CREATE OR REPLACE FUNCTION setting_value_is_valid(value text, value_type text) RETURNS boolean
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
