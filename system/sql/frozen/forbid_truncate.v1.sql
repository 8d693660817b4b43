-- The TRUNCATE guard of the append-only tables: a TRUNCATE raises, whoever runs it (the runtime role
-- may not TRUNCATE at all; this stops the owner role too). The one exception is a test database
-- (test_*) whose session turned loyalty.allow_truncate on: the tests' settings do, for the flush
-- of the transactional tests.
CREATE OR REPLACE FUNCTION forbid_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_database() LIKE 'test\_%' AND current_setting('loyalty.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE is not allowed', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
