-- A merchant with sales keeps its time zone and currency.
CREATE OR REPLACE TRIGGER merchants_check_change
    BEFORE UPDATE OF timezone, currency ON merchants
    FOR EACH ROW EXECUTE FUNCTION check_merchant_change();
