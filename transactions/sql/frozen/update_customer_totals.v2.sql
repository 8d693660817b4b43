-- After a sale completes or is refunded: the customer's totals, the day's visit, the day's
-- analytics delta and the refund's transaction_refunds row, exactly once.
CREATE OR REPLACE FUNCTION update_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OF status, refunded_amount: customer totals, the day's visit, the
-- day's analytics delta, and a transaction_refunds row for each refund or cancellation.
DECLARE
    tz text;
    visit_day date;
    visits_today integer;
    first_day date;
    is_new boolean;
    paid_back numeric;
    refunded_on timestamptz;
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
               (merchant_id, date, hour, total_sales, total_transactions, unique_customers, new_customers,
                points_issued)
        VALUES (NEW.merchant_id, visit_day, extract(hour FROM NEW.completed_at AT TIME ZONE tz), NEW.amount, 1,
                (visits_today = 1)::integer, is_new::integer, NEW.points_earned);
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'completed'
          AND (NEW.status IN ('refunded', 'cancelled') OR NEW.refunded_amount > OLD.refunded_amount) THEN
        paid_back := CASE WHEN NEW.status = 'cancelled' THEN OLD.amount
                          ELSE NEW.refunded_amount - OLD.refunded_amount END;
        UPDATE customers
           SET total_spent = total_spent - paid_back,
               total_transactions = total_transactions - (NEW.status <> 'completed')::integer
         WHERE id = NEW.customer_id;
        refunded_on := clock_timestamp();  -- orders the refunds of one sale, even within one transaction
        INSERT INTO transaction_refunds (transaction_id, merchant_id, kind, amount, points_taken_back,
                                         points_given_back, points_shortfall, created_by_id, created_at)
        VALUES (NEW.id, NEW.merchant_id, CASE WHEN NEW.status = 'cancelled' THEN 'cancel' ELSE 'refund' END,
                paid_back, NEW.points_reversed - OLD.points_reversed, NEW.points_returned - OLD.points_returned,
                NEW.points_shortfall - OLD.points_shortfall, nullif(current_setting('app.user_id', true), '')::uuid,
                refunded_on);
        INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, total_refunds, refund_count, points_reversed)
        VALUES (NEW.merchant_id, (refunded_on AT TIME ZONE tz)::date, paid_back, 1,
                NEW.points_reversed - OLD.points_reversed);
    ELSE
        RETURN NULL;
    END IF;
    -- Fold the merchant's pending deltas into its day rows, unless another sale is doing it.
    IF pg_try_advisory_xact_lock(2031, hashtext(NEW.merchant_id::text)) THEN
        PERFORM rollup_merchant_daily_analytics(NEW.merchant_id);
    END IF;
    RETURN NULL;
END $$;
