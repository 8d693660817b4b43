-- The month partitions of a time-partitioned log (audit_logs, qr_scan_logs: RANGE on created_at, one
-- partition per calendar month in UTC, named <table>_pYYYY_MM), made where missing from first_month's
-- month through months_ahead months after the current one, and the default partition <table>_default,
-- which takes a row no month partition holds (a backdated insert), so an insert never fails for lack of
-- a partition. Rows of a new month already in the default partition move into the new partition.
-- Returns the number of partitions made. Idempotent; two calls at once take turns (an advisory lock).
-- Each new partition gets the TRUNCATE guard (statement triggers are not cloned to partitions) and no
-- privilege but its owner's: the runtime role reaches the rows through the parent only.
-- A lock it waits for more than 2 s (lock_timeout) fails the call, so it never holds the counter back
-- for long: the job runs again later, months before the partition is needed.
-- SECURITY DEFINER: it runs as the tables' owner; its caller, the runtime role, may create nothing.
CREATE OR REPLACE FUNCTION create_log_partitions(log_table text, first_month date, months_ahead integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '2s' AS $$
DECLARE
    month date;
    last_month date;
    part text;
    low timestamptz;
    high timestamptz;
    made integer := 0;
    has_rows boolean;
    grantee oid;
    index_name text;
    parent_index text;
    replica boolean := has_parameter_privilege('session_replication_role', 'SET');
    replication_role text := current_setting('session_replication_role');
BEGIN
    IF log_table IS NULL OR log_table NOT IN ('audit_logs', 'qr_scan_logs') THEN
        RAISE EXCEPTION 'create_log_partitions: % is not a partitioned log', log_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF months_ahead IS NULL OR months_ahead NOT BETWEEN 0 AND 120 THEN
        RAISE EXCEPTION 'create_log_partitions: months ahead must be 0 to 120, not %', months_ahead
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF first_month < (now() AT TIME ZONE 'UTC')::date - interval '50 years' THEN  -- not hundreds of partitions
        RAISE EXCEPTION 'create_log_partitions: the first month may be at most 50 years back, not %', first_month
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('create_log_partitions'), hashtext(log_table));

    IF to_regclass(format('public.%I', log_table || '_default')) IS NULL THEN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', log_table || '_default', log_table);
        part := log_table || '_default';
        made := made + 1;
    END IF;

    month := date_trunc('month', coalesce(first_month, (now() AT TIME ZONE 'UTC')::date))::date;
    last_month := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead))::date;
    WHILE month <= last_month LOOP
        part := format('%s_p%s', log_table, to_char(month, 'YYYY_MM'));
        low := month::timestamp AT TIME ZONE 'UTC';
        high := (month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        IF to_regclass(format('public.%I', part)) IS NULL THEN
            -- Made aside and attached: ATTACH locks the parent in SHARE UPDATE EXCLUSIVE mode, which lets
            -- its readers and writers go on (CREATE TABLE ... PARTITION OF would lock them out); it builds
            -- the partition's indexes, foreign keys and row triggers from the parent's.
            EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           part, log_table);
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE created_at >= $1 AND created_at < $2)',
                           log_table || '_default') INTO has_rows USING low, high;
            IF has_rows THEN
                -- The month's rows leave the default partition for the new one, past the append-only
                -- triggers (replication mode, or the default partition's triggers off).
                IF replica THEN
                    PERFORM set_config('session_replication_role', 'replica', true);
                ELSE
                    EXECUTE format('ALTER TABLE public.%I DISABLE TRIGGER USER', log_table || '_default');
                END IF;
                EXECUTE format('WITH moved AS (DELETE FROM public.%I WHERE created_at >= $1 AND created_at < $2 '
                               'RETURNING *) INSERT INTO public.%I SELECT * FROM moved',
                               log_table || '_default', part) USING low, high;
                IF replica THEN
                    PERFORM set_config('session_replication_role', replication_role, true);
                ELSE
                    EXECUTE format('ALTER TABLE public.%I ENABLE TRIGGER USER', log_table || '_default');
                END IF;
            END IF;
            EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                           log_table, part, low, high);
            made := made + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;

    -- The guard, the index names and the privileges of every partition (those made now, and any made
    -- another way). An index is named after its parent's, <index>_<partition's suffix>, so a plan says
    -- which index it read (audit_logs_created_idx_p2026_12).
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = format('public.%I', log_table)::regclass
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = format('public.%I', part)::regclass
                                                  AND tgname = log_table || '_no_truncate') THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT '
                           'EXECUTE FUNCTION forbid_truncate()', log_table || '_no_truncate', part);
        END IF;
        FOR index_name, parent_index IN
            SELECT ci.relname, pi.relname FROM pg_index x
              JOIN pg_class ci ON ci.oid = x.indexrelid
              JOIN pg_inherits ii ON ii.inhrelid = x.indexrelid
              JOIN pg_class pi ON pi.oid = ii.inhparent
             WHERE x.indrelid = format('public.%I', part)::regclass
        LOOP
            IF index_name <> parent_index || substr(part, length(log_table) + 1)
               AND length(parent_index || substr(part, length(log_table) + 1)) <= 63 THEN
                EXECUTE format('ALTER INDEX public.%I RENAME TO %I', index_name,
                               parent_index || substr(part, length(log_table) + 1));
            END IF;
        END LOOP;
        FOR grantee IN
            SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = format('public.%I', part)::regclass AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('REVOKE ALL ON public.%I FROM %s', part,
                           CASE grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grantee)) END);
        END LOOP;
    END LOOP;
    RETURN made;
END $$;
