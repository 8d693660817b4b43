-- A new secret card token: 64 hex characters from two random UUIDs.
CREATE OR REPLACE FUNCTION new_card_token() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
$$;
