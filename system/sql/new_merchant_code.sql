-- A new merchant code: 9 characters with a check character.
CREATE OR REPLACE FUNCTION new_merchant_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT loyalty_code(9) $$;
