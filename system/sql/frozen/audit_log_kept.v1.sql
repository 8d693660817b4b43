-- The audit rows archiving keeps whatever their age: the programs' and tiers' histories, by which
-- check_ledger's drift check (loyalty/integrity.py) judges each sale, however old, under the
-- program version in force then. They are few. Maintenance archives the others
-- (operations/maintenance.py), and drop_archived_partition refuses a month holding any.
CREATE OR REPLACE FUNCTION audit_log_kept(audited_table text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT audited_table IN ('loyalty_programs', 'loyalty_tiers')
$$;
