-- The ledger is append-only: its rows never change or go away.
CREATE OR REPLACE TRIGGER points_transactions_append_only
    BEFORE DELETE OR UPDATE ON points_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
