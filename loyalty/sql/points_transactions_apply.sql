-- Every ledger row moves its account (apply_points_change) before it is written.
CREATE OR REPLACE TRIGGER points_transactions_apply
    BEFORE INSERT ON points_transactions
    FOR EACH ROW EXECUTE FUNCTION apply_points_change();
