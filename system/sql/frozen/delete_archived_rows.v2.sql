-- The only way rows leave the append-only logs (audit_logs, qr_scan_logs) and, when their
-- archiving is on, the daily and hourly figures: maintenance calls it with the ids of rows it has
-- already written to an archive file. It refuses the whole batch if any of those rows is newer
-- than the retention passed, deletes them past the logs' append-only triggers, and records what
-- it removed (table, first and last time, count, file, who) as one audit_logs row per batch.
-- SECURITY DEFINER: it runs as the tables' owner, which may turn their triggers off; its caller, the
-- runtime role, may neither DELETE from the logs nor disable a trigger.
CREATE OR REPLACE FUNCTION delete_archived_rows(log_table text, ids text[], retention interval, archive_file text)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    age_column text := CASE log_table
        WHEN 'audit_logs' THEN 'created_at'
        WHEN 'qr_scan_logs' THEN 'created_at'
        WHEN 'merchant_daily_analytics' THEN 'date'
        WHEN 'merchant_hourly_analytics' THEN 'date'
    END;
    id_type text;
    -- old enough: before now - retention (the figures: whole days before that day)
    old_enough text;
    cutoff timestamptz := now() - retention;
    too_new bigint;
    removed bigint;
    first_age text;
    last_age text;
    replication_role text := current_setting('session_replication_role');
    replica boolean := has_parameter_privilege('session_replication_role', 'SET');
BEGIN
    IF age_column IS NULL THEN
        RAISE EXCEPTION 'delete_archived_rows: % is not an archived table', log_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NULL OR retention <= interval '0' THEN
        RAISE EXCEPTION 'delete_archived_rows: the retention must be positive, not %', retention
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    old_enough := format(CASE age_column WHEN 'date' THEN '%I < $2::date' ELSE '%I < $2' END, age_column);
    SELECT format_type(a.atttypid, a.atttypmod) INTO id_type
      FROM pg_attribute a WHERE a.attrelid = format('public.%I', log_table)::regclass AND a.attname = 'id';

    EXECUTE format('SELECT count(*) FROM public.%I WHERE id = ANY($1::%s[]) AND NOT (%s)', log_table, id_type, old_enough)
       INTO too_new USING ids, cutoff;
    IF too_new > 0 THEN
        RAISE EXCEPTION 'delete_archived_rows: % of the % rows of % are within the retention of %: nothing deleted',
            too_new, cardinality(ids), log_table, retention
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;

    -- Past the append-only triggers: replication mode when this user may set it (a superuser, or
    -- GRANT SET ON PARAMETER session_replication_role); else, as the table's owner, its triggers off
    -- for the DELETE (their lock holds the table's writers back until this transaction commits).
    IF replica THEN
        PERFORM set_config('session_replication_role', 'replica', true);
    ELSE
        EXECUTE format('ALTER TABLE public.%I DISABLE TRIGGER USER', log_table);
    END IF;
    EXECUTE format(
        'WITH gone AS (DELETE FROM public.%I WHERE id = ANY($1::%s[]) AND %s RETURNING %I AS age) '
        'SELECT count(*), min(age)::text, max(age)::text FROM gone', log_table, id_type, old_enough, age_column)
       INTO removed, first_age, last_age USING ids, cutoff;
    IF replica THEN
        PERFORM set_config('session_replication_role', replication_role, true);
    ELSE
        EXECUTE format('ALTER TABLE public.%I ENABLE TRIGGER USER', log_table);
    END IF;

    IF removed > 0 THEN
        -- one record per archive file: its batches share the record_id
        INSERT INTO audit_logs (table_name, record_id, action, old_values, user_id)
        VALUES (log_table, md5(log_table || ':' || coalesce(archive_file, ''))::uuid, 'DELETE',
                jsonb_build_object('archived_rows', removed, 'first', first_age, 'last', last_age,
                                   'retention', retention::text, 'archive_file', archive_file,
                                   'database_user', session_user),
                nullif(current_setting('app.user_id', true), '')::uuid);
    END IF;
    RETURN removed;
END $$;
