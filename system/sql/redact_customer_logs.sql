-- A customer's personal data out of the logs (the erasure of a customer builds on it): in the
-- customer's audit history (audit_logs rows of 'customers' with its id) the values of the personal
-- and secret columns (audit_personal_columns, audit_secret_columns) become "[redacted]", keys and
-- changed_fields kept; its scans (qr_scan_logs of the customer, and those whose scanned code is the
-- customer's code with no customer) lose the code, address and browser. It writes one audit_logs
-- row, action REDACT, with the reason, the rows changed and the acting user (app.user_id), and
-- returns the number of log rows it changed. Running it again changes nothing more. SECURITY
-- DEFINER: the audit_logs guard lets exactly these UPDATEs through, whoever calls it.
CREATE OR REPLACE FUNCTION redact_customer_logs(p_customer uuid, p_reason text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    personal text[] := audit_personal_columns('customers');
    code text;
    audit_rows integer;
    scan_rows integer;
BEGIN
    IF p_customer IS NULL OR coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'redact_customer_logs: a customer and a reason are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    UPDATE audit_logs a
       SET old_values = audit_redacted('customers', a.old_values, personal),
           new_values = audit_redacted('customers', a.new_values, personal)
     WHERE a.table_name = 'customers' AND a.record_id = p_customer
       AND (a.old_values IS DISTINCT FROM audit_redacted('customers', a.old_values, personal)
            OR a.new_values IS DISTINCT FROM audit_redacted('customers', a.new_values, personal));
    GET DIAGNOSTICS audit_rows = ROW_COUNT;

    -- A scan names its customer, or none when it did not resolve to one (a printed code refused,
    -- say): the customer's code, unique to it, finds those through qr_scan_logs_no_customer_idx.
    SELECT c.customer_code INTO code FROM customers c WHERE c.id = p_customer;
    UPDATE qr_scan_logs s
       SET scanned_code = '[redacted]', ip_address = NULL, user_agent = ''
     WHERE (s.customer_id = p_customer OR (s.customer_id IS NULL AND s.scanned_code = code))
       AND (s.scanned_code <> '[redacted]' OR s.ip_address IS NOT NULL OR s.user_agent <> '');
    GET DIAGNOSTICS scan_rows = ROW_COUNT;

    INSERT INTO audit_logs (table_name, record_id, action, new_values, user_id)
    VALUES ('customers', p_customer, 'REDACT',
            jsonb_build_object('reason', p_reason, 'audit_rows', audit_rows, 'scan_rows', scan_rows),
            nullif(current_setting('app.user_id', true), '')::uuid);
    RETURN audit_rows + scan_rows;
END $$;
