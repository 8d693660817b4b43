-- One scan per sale (qr_scan_logs_take_sale).
CREATE OR REPLACE TRIGGER qr_scan_logs_one_per_sale
    AFTER INSERT OR UPDATE OF sale_id ON qr_scan_logs
    FOR EACH ROW EXECUTE FUNCTION qr_scan_logs_take_sale();
