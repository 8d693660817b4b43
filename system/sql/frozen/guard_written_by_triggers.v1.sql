-- The trigger of tables only other triggers write: any other write raises.
CREATE OR REPLACE FUNCTION guard_written_by_triggers() RETURNS trigger LANGUAGE plpgsql AS $$
-- Rows of this table are written by triggers only (pg_trigger_depth() > 1) and never change.
BEGIN
    IF pg_trigger_depth() > 1 AND TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are written by the database''s triggers only', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
