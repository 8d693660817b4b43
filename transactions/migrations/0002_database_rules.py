"""A sale's effects, applied by the database whoever writes the row.

BEFORE: `check_transaction_change()` refuses illegal moves and fills the derived columns
(currency, completed_at, points_earned and points_rate on completion, points_reversed on
reversal). AFTER: `update_customer_totals()` moves the customer's totals, the day's visit
and the day's analytics; `update_loyalty_points()` moves the account and writes the ledger.
Both AFTER functions act only on a change of status into or out of `completed`, so saving
a row again changes nothing.
"""

from django.db import migrations

SQL = r"""
CREATE FUNCTION check_transaction_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    merchant_currency text;
    program loyalty_programs;
    has_program boolean;
    available integer;
    most numeric;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT currency INTO merchant_currency FROM merchants WHERE id = NEW.merchant_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'merchant % does not exist', NEW.merchant_id USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF coalesce(NEW.currency, '') = '' THEN
            NEW.currency := merchant_currency;
        ELSIF NEW.currency <> merchant_currency THEN
            RAISE EXCEPTION 'transaction currency % differs from the merchant''s currency %',
                NEW.currency, merchant_currency USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status NOT IN ('pending', 'completed', 'failed', 'cancelled') THEN
            RAISE EXCEPTION 'a new transaction cannot be %', NEW.status
                USING ERRCODE = 'check_violation', HINT = 'Insert it as pending or completed.';
        END IF;
        NEW.points_earned := 0;
        NEW.points_rate := NULL;
        NEW.points_reversed := 0;
        NEW.refunded_at := NULL;
        NEW.cancelled_at := CASE WHEN NEW.status = 'cancelled' THEN now() END;
        IF NEW.status <> 'completed' THEN
            NEW.completed_at := NULL;
        END IF;
    ELSE
        IF coalesce(NEW.currency, '') = '' THEN
            NEW.currency := OLD.currency;
        END IF;
        IF (NEW.id, NEW.merchant_id, NEW.customer_id, NEW.currency)
           IS DISTINCT FROM (OLD.id, OLD.merchant_id, OLD.customer_id, OLD.currency) THEN
            RAISE EXCEPTION 'a transaction cannot move to another merchant, customer or currency'
                USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.status <> 'pending' AND NEW.amount <> OLD.amount THEN
            RAISE EXCEPTION 'the amount of a % transaction cannot change', OLD.status USING ERRCODE = 'check_violation';
        END IF;
        -- derived columns belong to the database
        NEW.points_earned := OLD.points_earned;
        NEW.points_rate := OLD.points_rate;
        NEW.points_reversed := OLD.points_reversed;
        NEW.refunded_at := OLD.refunded_at;
        NEW.cancelled_at := OLD.cancelled_at;
        NEW.discount_amount := OLD.discount_amount;
        NEW.idempotency_key := OLD.idempotency_key;
        IF OLD.status <> 'pending' THEN
            NEW.points_redeemed := OLD.points_redeemed;
            NEW.completed_at := OLD.completed_at;
        ELSIF NEW.status <> 'completed' THEN
            NEW.completed_at := NULL;  -- a sale that never completed has no completion time
        END IF;
        IF NEW.status = OLD.status THEN
            RETURN NEW;
        END IF;
        IF NOT ((OLD.status = 'pending' AND NEW.status IN ('completed', 'failed', 'cancelled'))
                OR (OLD.status = 'completed' AND NEW.status IN ('refunded', 'cancelled'))) THEN
            RAISE EXCEPTION 'illegal status change for transaction %: % -> %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation',
                      HINT = 'Allowed: pending -> completed, failed or cancelled; completed -> refunded or cancelled.';
        END IF;
        IF NEW.status = 'refunded' THEN
            NEW.refunded_at := now();
        ELSIF NEW.status = 'cancelled' THEN
            NEW.cancelled_at := now();
        END IF;
        IF OLD.status = 'completed' AND OLD.points_earned > 0 THEN
            -- Take back what was earned, at the stored rate, as far as the balance (with the points
            -- this sale redeemed given back first) allows. Lock the customer before the account,
            -- in the order a sale locks them.
            PERFORM 1 FROM customers WHERE id = NEW.customer_id FOR NO KEY UPDATE;
            SELECT current_points INTO available FROM customer_loyalty_accounts
             WHERE customer_id = NEW.customer_id AND merchant_id = NEW.merchant_id FOR NO KEY UPDATE;
            NEW.points_reversed := least(OLD.points_earned, coalesce(available, 0) + OLD.points_redeemed);
        END IF;
        IF NEW.status <> 'completed' THEN
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.status = 'completed' THEN
        NEW.completed_at := coalesce(NEW.completed_at, now());
        IF NEW.completed_at > now() + interval '5 minutes' THEN
            RAISE EXCEPTION 'a sale cannot complete in the future (%)', NEW.completed_at
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT * INTO program FROM loyalty_programs WHERE merchant_id = NEW.merchant_id AND is_active;
        has_program := FOUND;
        -- Points paying part of the bill, within the program's rules; the discount is the database's.
        NEW.discount_amount := 0;
        IF NEW.points_redeemed > 0 THEN
            IF NOT has_program THEN
                RAISE EXCEPTION 'points cannot be redeemed: the merchant has no active loyalty program'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.points_redeemed < program.min_redemption_points THEN
                RAISE EXCEPTION 'at least % points are needed to redeem', program.min_redemption_points
                    USING ERRCODE = 'check_violation';
            END IF;
            NEW.discount_amount := round(NEW.points_redeemed * program.point_value, 2);
            most := round(floor(NEW.amount * program.max_redemption_percent) / 100, 2);
            IF NEW.discount_amount > most THEN
                RAISE EXCEPTION 'points pay at most % of this bill (% percent); % points are worth %',
                    most, program.max_redemption_percent, NEW.points_redeemed, NEW.discount_amount
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        IF has_program THEN
            NEW.points_rate := program.points_per_dollar;
            NEW.points_earned := loyalty_points_for(program, CASE WHEN program.earn_on_total THEN NEW.amount
                                                                  ELSE NEW.amount - NEW.discount_amount END);
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transactions_10_check_change
    BEFORE INSERT OR UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION check_transaction_change();

CREATE FUNCTION update_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER transactions_20_update_customer_totals
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_customer_totals();

CREATE FUNCTION update_loyalty_points() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OF status: the customer's account at the merchant and its ledger.
DECLARE
    account_id uuid;
BEGIN
    IF NEW.status = 'completed' AND (TG_OP = 'INSERT' OR OLD.status <> 'completed') THEN
        INSERT INTO customer_loyalty_accounts AS a
               (customer_id, merchant_id, loyalty_program_id, total_spent, total_transactions, last_visit_at)
        VALUES (NEW.customer_id, NEW.merchant_id,
                (SELECT id FROM loyalty_programs WHERE merchant_id = NEW.merchant_id AND is_active),
                NEW.amount, 1, NEW.completed_at)
        ON CONFLICT (customer_id, merchant_id) DO UPDATE
           SET total_spent = a.total_spent + EXCLUDED.total_spent,
               total_transactions = a.total_transactions + 1,
               last_visit_at = greatest(a.last_visit_at, EXCLUDED.last_visit_at)
        RETURNING id INTO account_id;
        IF NEW.points_redeemed > 0 THEN
            -- the account's CHECK (current_points >= 0) refuses more than the balance
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, description)
            VALUES (account_id, NEW.id, 'redeem', -NEW.points_redeemed,
                    format('Paid %s %s of a purchase of %s %s', NEW.discount_amount, NEW.currency,
                           NEW.amount, NEW.currency));
        END IF;
        IF NEW.points_earned > 0 THEN
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, description)
            VALUES (account_id, NEW.id, 'earn', NEW.points_earned,
                    format('Earned on a purchase of %s %s', NEW.amount, NEW.currency));
        END IF;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'completed' AND NEW.status IN ('refunded', 'cancelled') THEN
        UPDATE customer_loyalty_accounts
           SET total_spent = total_spent - OLD.amount,
               total_transactions = total_transactions - 1
         WHERE customer_id = NEW.customer_id AND merchant_id = NEW.merchant_id
        RETURNING id INTO account_id;
        IF NEW.points_redeemed > 0 THEN
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, description)
            VALUES (account_id, NEW.id, 'reverse', NEW.points_redeemed,
                    format('Given back: purchase %s', NEW.status));
        END IF;
        IF NEW.points_reversed > 0 THEN
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, description)
            VALUES (account_id, NEW.id, 'reverse', -NEW.points_reversed,
                    format('Taken back: purchase %s', NEW.status)
                    || CASE WHEN NEW.points_reversed < NEW.points_earned
                            THEN format(' (%s points already spent)', NEW.points_earned - NEW.points_reversed)
                            ELSE '' END);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER transactions_30_update_loyalty_points
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_loyalty_points();

CREATE FUNCTION check_transaction_delete() RETURNS trigger LANGUAGE plpgsql AS $$
-- A sale that ever completed moved totals, visits and analytics: it is refunded or cancelled,
-- never deleted.
BEGIN
    IF OLD.completed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a % transaction cannot be deleted', OLD.status
            USING ERRCODE = 'integrity_constraint_violation', HINT = 'Refund or cancel it instead.';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER transactions_05_check_delete
    BEFORE DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION check_transaction_delete();

CREATE FUNCTION keep_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
-- A customer's totals are the triggers' (pg_trigger_depth() > 1). Any other write keeps them,
-- e.g. an ORM save of a row read before a sale.
BEGIN
    IF pg_trigger_depth() > 1 THEN
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

CREATE TRIGGER customers_keep_totals
    BEFORE INSERT OR UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION keep_customer_totals();

CREATE FUNCTION check_merchant_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- Visits and daily figures are kept per local day and currency: once a merchant has sales,
-- its time zone and currency stay.
BEGIN
    IF (NEW.timezone, NEW.currency) IS DISTINCT FROM (OLD.timezone, OLD.currency)
       AND EXISTS (SELECT 1 FROM transactions WHERE merchant_id = NEW.id) THEN
        RAISE EXCEPTION 'the time zone and currency of a merchant with sales cannot change'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER merchants_check_change
    BEFORE UPDATE OF timezone, currency ON merchants
    FOR EACH ROW EXECUTE FUNCTION check_merchant_change();
"""

REVERSE_SQL = """
DROP TRIGGER merchants_check_change ON merchants;
DROP FUNCTION check_merchant_change();
DROP TRIGGER customers_keep_totals ON customers;
DROP FUNCTION keep_customer_totals();
DROP TRIGGER transactions_05_check_delete ON transactions;
DROP FUNCTION check_transaction_delete();
DROP TRIGGER transactions_30_update_loyalty_points ON transactions;
DROP FUNCTION update_loyalty_points();
DROP TRIGGER transactions_20_update_customer_totals ON transactions;
DROP FUNCTION update_customer_totals();
DROP TRIGGER transactions_10_check_change ON transactions;
DROP FUNCTION check_transaction_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0001_initial"),
        ("loyalty", "0003_ledger_rules"),
        ("analytics", "0003_rollup_and_views"),
    ]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
