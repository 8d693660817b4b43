-- A merchant with sales keeps its time zone and currency.
CREATE OR REPLACE FUNCTION check_merchant_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- Visits and daily figures are kept per local day and currency: once a merchant has sales,
-- its time zone and currency stay.
BEGIN
    IF (NEW.timezone, NEW.currency) IS DISTINCT FROM (OLD.timezone, OLD.currency)
       AND EXISTS (SELECT 1 FROM transactions WHERE merchant_id = NEW.id) THEN
        RAISE EXCEPTION 'the time zone and currency of a merchant with sales cannot change'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
