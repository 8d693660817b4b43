-- One scan per sale: a scan taking a sale (sale_id set, at checkout) writes the pair to qr_scan_sales,
-- whose primary key refuses a second scan for the same sale; a scan giving its sale back (sale_id
-- cleared: a replayed idempotent sale) removes it. A unique index on qr_scan_logs.sale_id cannot do
-- this: on a partitioned table it would have to hold created_at. (One sale per scan is the checkout's
-- conditional UPDATE ... WHERE sale_id IS NULL.)
CREATE OR REPLACE FUNCTION qr_scan_logs_take_sale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.sale_id IS NOT DISTINCT FROM NEW.sale_id THEN
            RETURN NULL;
        END IF;
        IF OLD.sale_id IS NOT NULL THEN
            DELETE FROM qr_scan_sales WHERE sale_id = OLD.sale_id AND scan_id = OLD.id;
        END IF;
    END IF;
    IF NEW.sale_id IS NOT NULL THEN
        INSERT INTO qr_scan_sales (sale_id, scan_id, merchant_id) VALUES (NEW.sale_id, NEW.id, NEW.merchant_id);
    END IF;
    RETURN NULL;
END $$;
