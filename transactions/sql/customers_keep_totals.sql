-- A customer's totals are written by the sales' triggers only.
CREATE OR REPLACE TRIGGER customers_keep_totals
    BEFORE INSERT OR UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION keep_customer_totals();
