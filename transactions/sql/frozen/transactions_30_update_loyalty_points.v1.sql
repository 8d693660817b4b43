-- A sale that completes opens or moves the account and writes its ledger rows.
CREATE OR REPLACE TRIGGER transactions_30_update_loyalty_points
    AFTER INSERT OR UPDATE OF status, refunded_amount ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_loyalty_points();
