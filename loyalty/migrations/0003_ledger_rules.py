"""The points ledger drives the accounts: an inserted row moves the balance; nothing else can."""

from django.db import migrations

SQL = r"""
CREATE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
-- Points a purchase of `amount` earns under `program`.
DECLARE
    exact numeric;
BEGIN
    IF program.id IS NULL OR NOT program.is_active OR amount < program.min_spend_amount THEN
        RETURN 0;
    END IF;
    exact := CASE WHEN program.rounding = 'nearest' THEN round(amount * program.points_per_dollar)
                  ELSE floor(amount * program.points_per_dollar) END;
    exact := least(exact, coalesce(program.max_points_per_transaction, exact));
    IF exact > 2147483647 THEN
        RAISE EXCEPTION 'a purchase of % earns more points than an account can hold', amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN exact::integer;
END $$;

CREATE FUNCTION apply_points_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEFORE INSERT ON points_transactions: move the account by points_change, under its row lock,
-- and record the balance after. The account's CHECK (current_points >= 0) refuses an overdraft.
DECLARE
    account_merchant uuid;
    account_customer uuid;
    broken text;
BEGIN
    -- The row's own rules first, so an error names them rather than the account's.
    IF NEW.points_change IS NULL THEN
        RAISE EXCEPTION 'null value in column "points_change" of relation "points_transactions" %',
            'violates not-null constraint'
            USING ERRCODE = 'not_null_violation', COLUMN = 'points_change';
    END IF;
    broken := CASE
        WHEN NEW.transaction_type NOT IN ('earn', 'redeem', 'reverse', 'expire', 'adjust')
            THEN 'points_transactions_transaction_type_valid'
        WHEN NEW.points_change = 0 THEN 'points_transactions_change_nonzero'
        WHEN (NEW.transaction_type = 'earn' AND NEW.points_change < 0)
          OR (NEW.transaction_type IN ('redeem', 'expire') AND NEW.points_change > 0)
            THEN 'points_transactions_sign_matches_type'
    END;
    IF broken IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "points_transactions" violates check constraint "%"', broken
            USING ERRCODE = 'check_violation', CONSTRAINT = broken,
                  DETAIL = format('%s of %s points', NEW.transaction_type, NEW.points_change);
    END IF;
    -- Lock the customer before the account, in the order a sale locks them.
    SELECT a.merchant_id, a.customer_id INTO account_merchant, account_customer
      FROM customer_loyalty_accounts a WHERE a.id = NEW.customer_loyalty_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no loyalty account %', NEW.customer_loyalty_account_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM 1 FROM customers WHERE id = account_customer FOR NO KEY UPDATE;
    -- Points earned or taken back belong to a sale of this customer at this merchant.
    IF NEW.transaction_type IN ('earn', 'reverse') AND NOT EXISTS (
        SELECT 1 FROM transactions t
         WHERE t.id = NEW.transaction_id AND t.customer_id = account_customer AND t.merchant_id = account_merchant)
    THEN
        RAISE EXCEPTION '% points belong to a sale of this account''s customer at its merchant',
            NEW.transaction_type USING ERRCODE = 'foreign_key_violation';
    END IF;
    UPDATE customer_loyalty_accounts
       SET current_points = current_points + NEW.points_change,
           total_points_earned = total_points_earned + CASE
               WHEN NEW.transaction_type = 'earn' OR (NEW.transaction_type = 'reverse' AND NEW.points_change < 0)
               THEN NEW.points_change ELSE 0 END,
           total_points_redeemed = total_points_redeemed + CASE
               WHEN NEW.transaction_type = 'redeem' OR (NEW.transaction_type = 'reverse' AND NEW.points_change > 0)
               THEN -NEW.points_change ELSE 0 END
     WHERE id = NEW.customer_loyalty_account_id
    RETURNING current_points INTO NEW.balance_after;
    NEW.created_by_id := coalesce(NEW.created_by_id, nullif(current_setting('app.user_id', true), '')::uuid);
    NEW.created_at := now();
    IF NEW.transaction_type = 'redeem' THEN
        INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, points_redeemed)
        SELECT m.id, (now() AT TIME ZONE m.timezone)::date, -NEW.points_change FROM merchants m
         WHERE m.id = account_merchant;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER points_transactions_apply
    BEFORE INSERT ON points_transactions
    FOR EACH ROW EXECUTE FUNCTION apply_points_change();

CREATE TRIGGER points_transactions_append_only
    BEFORE UPDATE OR DELETE ON points_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION guard_account_points() RETURNS trigger LANGUAGE plpgsql AS $$
-- The figures of an account are the triggers' (pg_trigger_depth() > 1: written from a trigger).
-- Points change only through the ledger, so they always equal its sums: a direct write of them
-- raises. The spend figures of a direct write, e.g. an ORM save of a row read before a sale,
-- are kept as they are.
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
    IF (NEW.customer_id, NEW.merchant_id) IS DISTINCT FROM (OLD.customer_id, OLD.merchant_id) THEN
        RAISE EXCEPTION 'a loyalty account cannot move to another customer or merchant'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    NEW.total_spent := OLD.total_spent;
    NEW.total_transactions := OLD.total_transactions;
    NEW.last_visit_at := OLD.last_visit_at;
    RETURN NEW;
END $$;

CREATE TRIGGER customer_loyalty_accounts_guard_points
    BEFORE INSERT OR UPDATE ON customer_loyalty_accounts
    FOR EACH ROW EXECUTE FUNCTION guard_account_points();
"""

REVERSE_SQL = """
DROP TRIGGER customer_loyalty_accounts_guard_points ON customer_loyalty_accounts;
DROP FUNCTION guard_account_points();
DROP TRIGGER points_transactions_append_only ON points_transactions;
DROP TRIGGER points_transactions_apply ON points_transactions;
DROP FUNCTION apply_points_change();
DROP FUNCTION loyalty_points_for(loyalty_programs, numeric);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0002_initial"),
        ("analytics", "0002_initial"),
    ]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
