-- Refund rows are written by the sales' triggers only.
CREATE OR REPLACE TRIGGER transaction_refunds_guard
    BEFORE INSERT OR DELETE OR UPDATE ON transaction_refunds
    FOR EACH ROW EXECUTE FUNCTION guard_written_by_triggers();
