-- Adjustments by hand are recorded in audit_logs (the rest of the ledger is a record already).
CREATE OR REPLACE TRIGGER points_transactions_audit_adjustments
    AFTER INSERT ON points_transactions
    FOR EACH ROW WHEN (new.transaction_type::text = 'adjust'::text) EXECUTE FUNCTION audit_row_change();
