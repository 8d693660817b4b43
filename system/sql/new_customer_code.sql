-- A new customer code: 11 characters with a check character.
CREATE OR REPLACE FUNCTION new_customer_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT loyalty_code(11) $$;
