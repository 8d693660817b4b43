-- Lots are kept by the ledger's trigger; by hand only an open lot's expiry date changes.
CREATE OR REPLACE FUNCTION guard_points_lots() RETURNS trigger LANGUAGE plpgsql AS $$
-- Lots are kept by the ledger's trigger (pg_trigger_depth() > 1); by hand, only the expiry
-- date of a lot with points left can change (to extend or shorten it).
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.customer_loyalty_account_id, NEW.merchant_id, NEW.entry_id, NEW.points,
                             NEW.remaining, NEW.earned_at)
                          = (OLD.id, OLD.customer_loyalty_account_id, OLD.merchant_id, OLD.entry_id, OLD.points,
                             OLD.remaining, OLD.earned_at) THEN
        IF OLD.remaining = 0 AND NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
            RAISE EXCEPTION 'this lot is used up or expired: its expiry date stays'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'points lots are kept by the ledger: only their expiry date can be changed'
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'INSERT a points_transactions row to move points.';
END $$;
