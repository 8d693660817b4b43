-- A sale that ever completed is never deleted.
CREATE OR REPLACE FUNCTION check_transaction_delete() RETURNS trigger LANGUAGE plpgsql AS $$
-- A sale that ever completed moved totals, visits and analytics: it is refunded or cancelled,
-- never deleted.
BEGIN
    IF OLD.completed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a % transaction cannot be deleted', OLD.status
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'Refund or cancel it instead.';
    END IF;
    RETURN OLD;
END $$;
