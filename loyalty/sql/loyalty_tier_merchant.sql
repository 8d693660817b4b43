-- A tier belongs to its program's merchant: filled from the program when a writer leaves it out.
CREATE OR REPLACE FUNCTION loyalty_tier_merchant() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEFORE INSERT OR UPDATE OF program_id, merchant_id ON loyalty_tiers: merchant_id is the
-- program's (the distribution column of docs/scale-out.md); naming another merchant raises.
DECLARE
    program_merchant uuid;
BEGIN
    SELECT merchant_id INTO program_merchant FROM loyalty_programs WHERE id = NEW.program_id;
    IF NEW.merchant_id <> program_merchant THEN
        RAISE EXCEPTION 'a tier belongs to its program''s merchant'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('merchant %s, the program''s %s', NEW.merchant_id, program_merchant);
    END IF;
    NEW.merchant_id := coalesce(program_merchant, NEW.merchant_id);  -- no program: its foreign key refuses the row
    RETURN NEW;
END $$;
