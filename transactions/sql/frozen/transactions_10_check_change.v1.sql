-- Every sale written passes check_transaction_change() first.
CREATE OR REPLACE TRIGGER transactions_10_check_change
    BEFORE INSERT OR UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION check_transaction_change();
