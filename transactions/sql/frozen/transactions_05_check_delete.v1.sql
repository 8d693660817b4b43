-- A sale that ever completed is never deleted.
CREATE OR REPLACE TRIGGER transactions_05_check_delete
    BEFORE DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION check_transaction_delete();
