-- An account's points change only through the ledger.
CREATE OR REPLACE TRIGGER customer_loyalty_accounts_guard_points
    BEFORE INSERT OR UPDATE ON customer_loyalty_accounts
    FOR EACH ROW EXECUTE FUNCTION guard_account_points();
