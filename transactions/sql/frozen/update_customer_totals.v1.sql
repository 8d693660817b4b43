CREATE OR REPLACE FUNCTION update_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OF status: customer totals, the day's visit, the day's analytics delta.
DECLARE
    tz text;
    visit_day date;
    visits_today integer;
    first_day date;
    is_new boolean;
BEGIN
    SELECT timezone INTO tz FROM merchants WHERE id = NEW.merchant_id;
    IF NEW.status = 'completed' AND (TG_OP = 'INSERT' OR OLD.status <> 'completed') THEN
        UPDATE customers
           SET total_spent = total_spent + NEW.amount,
               total_transactions = total_transactions + 1,
               last_visit_at = greatest(last_visit_at, NEW.completed_at)
         WHERE id = NEW.customer_id;
        visit_day := (NEW.completed_at AT TIME ZONE tz)::date;
        INSERT INTO customer_visits AS v
               (customer_id, merchant_id, visit_date, visit_count, total_spent, first_visit_at, last_visit_at)
        VALUES (NEW.customer_id, NEW.merchant_id, visit_day, 1, NEW.amount, NEW.completed_at, NEW.completed_at)
        ON CONFLICT (customer_id, merchant_id, visit_date) DO UPDATE
           SET visit_count = v.visit_count + 1,
               total_spent = v.total_spent + EXCLUDED.total_spent,
               first_visit_at = least(v.first_visit_at, EXCLUDED.first_visit_at),
               last_visit_at = greatest(v.last_visit_at, EXCLUDED.last_visit_at)
        RETURNING visit_count INTO visits_today;
        -- A customer is new on the day of their first visit; a backdated sale can move that day.
        is_new := false;
        IF visits_today = 1 THEN
            SELECT min(visit_date) INTO first_day FROM customer_visits
             WHERE customer_id = NEW.customer_id AND merchant_id = NEW.merchant_id AND visit_date <> visit_day;
            is_new := first_day IS NULL OR first_day > visit_day;
            IF first_day > visit_day THEN
                INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, new_customers)
                VALUES (NEW.merchant_id, first_day, -1);
            END IF;
        END IF;
        INSERT INTO merchant_daily_analytics_deltas
               (merchant_id, date, total_sales, total_transactions, unique_customers, new_customers, points_issued)
        VALUES (NEW.merchant_id, visit_day, NEW.amount, 1, (visits_today = 1)::integer, is_new::integer,
                NEW.points_earned);
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'completed' AND NEW.status IN ('refunded', 'cancelled') THEN
        UPDATE customers
           SET total_spent = total_spent - OLD.amount,
               total_transactions = total_transactions - 1
         WHERE id = NEW.customer_id;
        INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, total_refunds, refund_count, points_reversed)
        VALUES (NEW.merchant_id, (coalesce(NEW.refunded_at, NEW.cancelled_at) AT TIME ZONE tz)::date, OLD.amount, 1,
                NEW.points_reversed);
    ELSE
        RETURN NULL;
    END IF;
    -- Fold the merchant's pending deltas into its day rows, unless another sale is doing it.
    IF pg_try_advisory_xact_lock(2031, hashtext(NEW.merchant_id::text)) THEN
        PERFORM rollup_merchant_daily_analytics(NEW.merchant_id);
    END IF;
    RETURN NULL;
END $$;
