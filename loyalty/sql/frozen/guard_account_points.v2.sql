-- An account's points and totals are written by the ledger's trigger only.
CREATE OR REPLACE FUNCTION guard_account_points() RETURNS trigger LANGUAGE plpgsql AS $$
-- The figures of an account are the triggers' (pg_trigger_depth() > 1: written from a trigger).
-- Points change only through the ledger, so they always equal its sums: a direct write of them
-- raises. The spend figures of a direct write, e.g. an ORM save of a row read before a sale,
-- are kept as they are, except in a merge of the account's customer.
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF (NEW.current_points, NEW.total_points_earned, NEW.total_points_redeemed) <> (0, 0, 0) THEN
            RAISE EXCEPTION 'points of a loyalty account change only through points_transactions'
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'INSERT a points_transactions row (type adjust) instead.';
        END IF;
        NEW.total_spent := 0;
        NEW.total_transactions := 0;
        NEW.last_visit_at := NULL;
        RETURN NEW;
    END IF;
    IF (NEW.current_points, NEW.total_points_earned, NEW.total_points_redeemed)
       IS DISTINCT FROM (OLD.current_points, OLD.total_points_earned, OLD.total_points_redeemed) THEN
        RAISE EXCEPTION 'points of a loyalty account change only through points_transactions'
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'INSERT a points_transactions row (type adjust) instead.';
    END IF;
    -- Only a merge of two customers (merge_customers(), in progress in this transaction) moves an
    -- account to the other customer, and the spend figures of the two customers' accounts.
    IF NEW.merchant_id IS DISTINCT FROM OLD.merchant_id
       OR (NEW.customer_id IS DISTINCT FROM OLD.customer_id
           AND NOT customer_merge_moves(OLD.customer_id, NEW.customer_id, OLD.merchant_id)) THEN
        RAISE EXCEPTION 'a loyalty account cannot move to another customer or merchant'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF customer_merge_touches(OLD.customer_id) THEN
        RETURN NEW;
    END IF;
    NEW.total_spent := OLD.total_spent;
    NEW.total_transactions := OLD.total_transactions;
    NEW.last_visit_at := OLD.last_visit_at;
    RETURN NEW;
END $$;
