-- A sale that completes or is refunded moves the customer's totals, visits and daily figures.
CREATE OR REPLACE TRIGGER transactions_20_update_customer_totals
    AFTER INSERT OR UPDATE OF status, refunded_amount ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_customer_totals();
