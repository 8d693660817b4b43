-- Lots are written by the ledger's trigger only.
CREATE OR REPLACE TRIGGER points_lots_guard
    BEFORE INSERT OR DELETE OR UPDATE ON points_lots
    FOR EACH ROW EXECUTE FUNCTION guard_points_lots();
