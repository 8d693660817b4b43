-- The trigger of append-only tables: an UPDATE or DELETE raises, naming the table (a partitioned
-- one's name, not its partition's).
CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed',
        coalesce((SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = TG_RELID), TG_TABLE_NAME),
        TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
