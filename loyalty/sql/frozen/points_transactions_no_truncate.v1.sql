-- The ledger is append-only: no TRUNCATE (forbid_truncate).
CREATE OR REPLACE TRIGGER points_transactions_no_truncate
    BEFORE TRUNCATE ON points_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_truncate();
