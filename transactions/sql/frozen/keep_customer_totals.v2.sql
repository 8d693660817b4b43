-- A customer's totals are written by the sales' triggers only; other writes keep them.
CREATE OR REPLACE FUNCTION keep_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
-- A customer's totals are the triggers' (pg_trigger_depth() > 1). Any other write keeps them,
-- e.g. an ORM save of a row read before a sale. A merge of two customers (merge_customers(), in
-- progress in this transaction) moves the totals of its two customers.
BEGIN
    IF pg_trigger_depth() > 1 OR (TG_OP = 'UPDATE' AND customer_merge_touches(OLD.id)) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.total_spent := 0;
        NEW.total_transactions := 0;
        NEW.last_visit_at := NULL;
    ELSE
        NEW.total_spent := OLD.total_spent;
        NEW.total_transactions := OLD.total_transactions;
        NEW.last_visit_at := OLD.last_visit_at;
    END IF;
    RETURN NEW;
END $$;
