-- A whole month of a partitioned log (audit_logs, qr_scan_logs) leaves at once: maintenance calls it
-- once the partition's rows are in an archive file, with the count it wrote. It refuses, changing
-- nothing, a partition that is not a month of that log, one whose month ends within the retention,
-- one holding rows maintenance keeps (audit_log_kept: the programs' and tiers' histories), and one whose row count is not the archive's. Otherwise it detaches and drops
-- the partition and records it as one audit_logs row, like delete_archived_rows. The parent is
-- locked for a moment (DETACH CONCURRENTLY cannot run in a function, nor beside a default
-- partition); lock_timeout makes it give up rather than hold the counter back: the next run retries.
-- SECURITY DEFINER: it runs as the tables' owner; its caller, the runtime role, may drop nothing.
CREATE OR REPLACE FUNCTION drop_archived_partition(log_table text, part text, retention interval,
                                                   archive_file text, archived_rows bigint)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '2s' AS $$
DECLARE
    month date;
    high timestamptz;
    found bigint;
    kept bigint := 0;
BEGIN
    IF log_table IS NULL OR log_table NOT IN ('audit_logs', 'qr_scan_logs') THEN
        RAISE EXCEPTION 'drop_archived_partition: % is not a partitioned log', log_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NULL OR retention <= interval '0' THEN
        RAISE EXCEPTION 'drop_archived_partition: the retention must be positive, not %', retention
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF part IS NULL OR part !~ ('^' || log_table || '_p\d{4}_\d{2}$') OR NOT EXISTS (
        SELECT 1 FROM pg_inherits
         WHERE inhrelid = to_regclass(format('public.%I', part))
           AND inhparent = format('public.%I', log_table)::regclass) THEN
        RAISE EXCEPTION 'drop_archived_partition: % is not a month partition of %', part, log_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    month := to_date(right(part, 7), 'YYYY_MM');
    high := (month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    IF high > now() - retention THEN
        RAISE EXCEPTION 'drop_archived_partition: % ends within the retention of %', part, retention
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;

    SET CONSTRAINTS ALL IMMEDIATE;  -- deferred checks pending in this transaction would stop the DROP
    EXECUTE format('LOCK TABLE public.%I IN ACCESS EXCLUSIVE MODE', log_table);
    EXECUTE format('SELECT count(*) FROM public.%I', part) INTO found;
    IF log_table = 'audit_logs' THEN
        EXECUTE format('SELECT count(*) FROM public.%I WHERE audit_log_kept(table_name)', part) INTO kept;
    END IF;
    IF kept > 0 THEN
        RAISE EXCEPTION 'drop_archived_partition: % holds % rows that are kept: nothing dropped', part, kept
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF found <> archived_rows THEN
        RAISE EXCEPTION 'drop_archived_partition: % holds % rows, the archive % has %: nothing dropped',
            part, found, archive_file, archived_rows
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;

    EXECUTE format('ALTER TABLE public.%I DETACH PARTITION public.%I', log_table, part);
    EXECUTE format('DROP TABLE public.%I', part);
    INSERT INTO audit_logs (table_name, record_id, action, old_values, user_id)
    VALUES (log_table, md5(log_table || ':' || coalesce(archive_file, ''))::uuid, 'DELETE',
            jsonb_build_object('archived_rows', found, 'partition', part, 'retention', retention::text,
                               'archive_file', archive_file, 'database_user', session_user),
            nullif(current_setting('app.user_id', true), '')::uuid);
    RETURN found;
END $$;
