"""Partial refunds, points lots with expiry, tiers, and the shortfall policy, in the database.

- A refund is a rise of `transactions.refunded_amount` (or a move to `refunded`, which refunds
  what is left). It gives back the redeemed points and takes back the earned ones in
  proportion, rounded down and counted over all the sale's refunds, so a sale refunded in
  parts takes back exactly what it earned. Earned points the customer has already spent are
  taken back as the program's `shortfall_policy` says; what is not taken is recorded as
  `points_shortfall`. Each refund or cancellation writes a `transaction_refunds` row.
- Every ledger row that adds points opens a lot (`points_lots`) that expires
  `points_expiry_days` after it came in (the program's setting at that moment). Rows that
  take points use the oldest lots first; a take-back of a refunded sale uses that sale's lot
  first. `expire_points()` writes one `expire` row per due lot, for what is left of it.
- Sales are also counted per local hour (`merchant_hourly_analytics`), rolled up from the
  deltas with the days, so the dashboard's weekday-by-hour chart reads 24 rows a day.
- A program's tiers multiply what a sale earns, by the points the customer earned at the
  merchant in the last 12 months; the multiplier is stored on the sale and its earn row.
"""

from django.db import migrations

from system.sqlfiles import frozen

BACKFILL = r"""
-- Sales refunded or cancelled before this migration: in full, redeemed points given back.
UPDATE transactions
   SET refunded_amount = CASE WHEN status = 'refunded' THEN amount ELSE 0 END,
       points_returned = points_redeemed,
       points_shortfall = points_earned - points_reversed
 WHERE status IN ('refunded', 'cancelled') AND completed_at IS NOT NULL;
INSERT INTO transaction_refunds (transaction_id, merchant_id, kind, amount, points_taken_back, points_given_back,
                                 points_shortfall, created_at)
SELECT id, merchant_id, CASE WHEN status = 'refunded' THEN 'refund' ELSE 'cancel' END, amount, points_reversed,
       points_redeemed, points_earned - points_reversed, coalesce(refunded_at, cancelled_at)
  FROM transactions
 WHERE status IN ('refunded', 'cancelled') AND completed_at IS NOT NULL;
UPDATE transactions t SET points_multiplier = 1
 WHERE completed_at IS NOT NULL AND points_rate IS NOT NULL;
"""

SQL = r"""
CREATE OR REPLACE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric, multiplier numeric)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
-- Points a purchase of `amount` earns under `program` at a tier's `multiplier`, capped per sale.
DECLARE
    exact numeric;
BEGIN
    IF program.id IS NULL OR NOT program.is_active OR amount < program.min_spend_amount THEN
        RETURN 0;
    END IF;
    exact := amount * program.points_per_dollar * coalesce(multiplier, 1);
    exact := CASE WHEN program.rounding = 'nearest' THEN round(exact) ELSE floor(exact) END;
    exact := least(exact, coalesce(program.max_points_per_transaction, exact));
    IF exact > 2147483647 THEN
        RAISE EXCEPTION 'a purchase of % earns more points than an account can hold', amount
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN exact::integer;
END $$;

CREATE OR REPLACE FUNCTION loyalty_points_for(program loyalty_programs, amount numeric) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT loyalty_points_for(program, amount, 1)
$$;

CREATE FUNCTION loyalty_points_last_year(p_customer uuid, p_merchant uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
-- Points the customer earned at the merchant in the last 12 months, less what refunds took back.
    SELECT coalesce(sum(p.points_change), 0)::integer
      FROM customer_loyalty_accounts a
      JOIN points_transactions p ON p.customer_loyalty_account_id = a.id
     WHERE a.customer_id = p_customer AND a.merchant_id = p_merchant
       AND p.created_at > now() - interval '12 months'
       AND (p.transaction_type = 'earn' OR (p.transaction_type = 'reverse' AND p.points_change < 0))
$$;

CREATE FUNCTION loyalty_tier_for(p_program uuid, p_points integer) RETURNS loyalty_tiers
LANGUAGE sql STABLE AS $$
-- The highest tier of the program that `p_points` earned in 12 months reach (NULL if none).
    SELECT * FROM loyalty_tiers WHERE program_id = p_program AND min_points <= p_points
     ORDER BY min_points DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION apply_points_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEFORE INSERT ON points_transactions: move the account by points_change, under the
-- customer's row lock, record the balance after, and keep the account's lots: a row adding
-- points opens a lot; a row taking points uses the oldest lots first (a take-back of a
-- refunded sale uses that sale's lot first; an expiry, its own lot). The balance goes below
-- zero only for a take-back under a program that allows it, down to its limit.
-- An `expire` row takes what is left of its lot when the row is written; when nothing is
-- left or the lot is not yet due, the row is skipped, so expiring twice changes nothing.
DECLARE
    account_merchant uuid;
    account_customer uuid;
    program loyalty_programs;
    lowest integer := 0;
    before_points integer;
    to_use integer;
    own_entry uuid;
    due_lot points_lots;
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
        WHEN (NEW.lot_id IS NULL) <> (NEW.transaction_type <> 'expire')
            THEN 'points_transactions_lot_only_on_expire'
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
    IF NEW.transaction_type = 'expire' THEN
        SELECT * INTO due_lot FROM points_lots WHERE id = NEW.lot_id;
        IF NOT FOUND OR due_lot.customer_loyalty_account_id <> NEW.customer_loyalty_account_id THEN
            RAISE EXCEPTION 'lot % is not a lot of this account', NEW.lot_id USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF due_lot.remaining = 0 OR due_lot.expires_at IS NULL OR due_lot.expires_at > now() THEN
            RETURN NULL;
        END IF;
        NEW.points_change := -due_lot.remaining;
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
    before_points := NEW.balance_after - NEW.points_change;
    IF NEW.balance_after < 0 AND NEW.points_change < 0 THEN
        IF NEW.transaction_type = 'reverse' THEN
            SELECT * INTO program FROM loyalty_programs WHERE merchant_id = account_merchant AND is_active;
            IF program.shortfall_policy = 'allow_negative' THEN
                lowest := -program.max_negative_points;
            END IF;
        END IF;
        IF NEW.balance_after < lowest THEN
            RAISE EXCEPTION 'new row for relation "customer_loyalty_accounts" violates check constraint "%"',
                'customer_loyalty_accounts_current_points_nonnegative'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'customer_loyalty_accounts_current_points_nonnegative',
                      DETAIL = format('A balance of %s points cannot take %s %s.', before_points,
                                      NEW.transaction_type, NEW.points_change);
        END IF;
    END IF;
    NEW.created_by_id := coalesce(NEW.created_by_id, nullif(current_setting('app.user_id', true), '')::uuid);
    NEW.created_at := clock_timestamp();  -- the rows of one transaction keep their order
    IF NEW.points_change > 0 THEN
        -- A new lot; what pays back a negative balance is used at once.
        INSERT INTO points_lots (customer_loyalty_account_id, entry_id, points, remaining, earned_at, expires_at)
        SELECT NEW.customer_loyalty_account_id, NEW.id, NEW.points_change,
               greatest(NEW.balance_after, 0) - greatest(before_points, 0), NEW.created_at,
               NEW.created_at + p.points_expiry_days * interval '1 day'
          FROM (SELECT NULL) one
          LEFT JOIN loyalty_programs p ON p.merchant_id = account_merchant AND p.is_active;
    ELSE
        to_use := greatest(before_points, 0) - greatest(NEW.balance_after, 0);
        IF NEW.transaction_type = 'expire' THEN
            UPDATE points_lots SET remaining = remaining - to_use WHERE id = NEW.lot_id;
        ELSIF to_use > 0 THEN
            IF NEW.transaction_type = 'reverse' THEN
                SELECT id INTO own_entry FROM points_transactions
                 WHERE transaction_id = NEW.transaction_id AND transaction_type = 'earn';
            END IF;
            UPDATE points_lots l SET remaining = l.remaining - u.used
              FROM (SELECT id, least(remaining, to_use - (running - remaining)) AS used
                      FROM (SELECT id, remaining,
                                   sum(remaining) OVER (ORDER BY entry_id IS NOT DISTINCT FROM own_entry DESC,
                                                                 earned_at, id) AS running
                              FROM points_lots
                             WHERE customer_loyalty_account_id = NEW.customer_loyalty_account_id
                               AND remaining > 0) open_lots
                     WHERE running - remaining < to_use) u
             WHERE l.id = u.id;
        END IF;
    END IF;
    IF NEW.transaction_type = 'redeem' OR (NEW.transaction_type = 'reverse' AND NEW.points_change > 0) THEN
        -- Points redeemed, net of those a refund gave back (on the refund's day), as the account counts them.
        INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, points_redeemed)
        SELECT m.id, (NEW.created_at AT TIME ZONE m.timezone)::date, -NEW.points_change FROM merchants m
         WHERE m.id = account_merchant;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION guard_points_lots() RETURNS trigger LANGUAGE plpgsql AS $$
-- Lots are kept by the ledger's trigger (pg_trigger_depth() > 1); by hand, only the expiry
-- date of a lot with points left can change (to extend or shorten it).
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.id, NEW.customer_loyalty_account_id, NEW.entry_id, NEW.points, NEW.remaining,
                             NEW.earned_at)
                          = (OLD.id, OLD.customer_loyalty_account_id, OLD.entry_id, OLD.points, OLD.remaining,
                             OLD.earned_at) THEN
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

CREATE FUNCTION guard_written_by_triggers() RETURNS trigger LANGUAGE plpgsql AS $$
-- Rows of this table are written by triggers only (pg_trigger_depth() > 1) and never change.
BEGIN
    IF pg_trigger_depth() > 1 AND TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are written by the database''s triggers only', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION create_missing_points_lots() RETURNS integer LANGUAGE sql AS $$
-- Lots for accounts that have none (written before lots existed, or bulk-loaded), as the
-- ledger's trigger would have kept them: a sale's take-backs use its own lot first, then the
-- newest incoming points are the ones left (the oldest were used first). Each lot expires by
-- the merchant's program's current setting, and not within 30 days: points that never had an
-- expiry date get notice.
    WITH accounts AS (
        SELECT a.id, a.current_points, p.points_expiry_days
          FROM customer_loyalty_accounts a
          LEFT JOIN loyalty_programs p ON p.merchant_id = a.merchant_id AND p.is_active
         WHERE NOT EXISTS (SELECT 1 FROM points_lots l WHERE l.customer_loyalty_account_id = a.id)
    ), taken_back AS (
        SELECT transaction_id, -sum(points_change) AS points
          FROM points_transactions WHERE transaction_type = 'reverse' AND points_change < 0 GROUP BY 1
    ), incoming AS (
        SELECT e.id, e.customer_loyalty_account_id, e.points_change, e.created_at, a.current_points,
               a.points_expiry_days,
               e.points_change - CASE WHEN e.transaction_type = 'earn'
                                      THEN least(coalesce(t.points, 0), e.points_change) ELSE 0 END AS open_points
          FROM points_transactions e
          JOIN accounts a ON a.id = e.customer_loyalty_account_id
          LEFT JOIN taken_back t ON t.transaction_id = e.transaction_id
         WHERE e.points_change > 0
    ), ranked AS (
        SELECT *, coalesce(sum(open_points) OVER (PARTITION BY customer_loyalty_account_id
                                                  ORDER BY created_at DESC, id DESC
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
          FROM incoming
    ), written AS (
        INSERT INTO points_lots (customer_loyalty_account_id, entry_id, points, remaining, earned_at, expires_at)
        SELECT customer_loyalty_account_id, id, points_change,
               greatest(0, least(open_points, current_points - newer)), created_at,
               CASE WHEN points_expiry_days IS NOT NULL
                    THEN greatest(created_at + points_expiry_days * interval '1 day', now() + interval '30 days') END
          FROM ranked
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;

CREATE FUNCTION expire_points(p_limit integer DEFAULT 1000) RETURNS integer LANGUAGE sql AS $$
-- Expire up to p_limit due lots, oldest due first; returns how many. Safe to run twice or at
-- once: the ledger's trigger skips a lot that has nothing left, and one expiry per lot is unique.
    WITH due AS (
        SELECT l.id, l.customer_loyalty_account_id, l.remaining, l.earned_at, m.timezone
          FROM points_lots l
          JOIN customer_loyalty_accounts a ON a.id = l.customer_loyalty_account_id
          JOIN merchants m ON m.id = a.merchant_id
         WHERE l.remaining > 0 AND l.expires_at <= now()
         ORDER BY l.expires_at, l.id
         LIMIT p_limit
    ), written AS (
        INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change, lot_id,
                                         description)
        SELECT customer_loyalty_account_id, 'expire', -remaining, id,
               format('Expired: points received on %s', (earned_at AT TIME ZONE timezone)::date)
          FROM due
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;

CREATE OR REPLACE FUNCTION check_transaction_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    merchant_currency text;
    program loyalty_programs;
    has_program boolean;
    most numeric;
    share_earned integer;
    give integer;
    owed integer;
    expired integer;
    written_off integer;
    account_id uuid;
    available integer;
    lowest integer;
    taken integer;
    what text;
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
        NEW.points_multiplier := NULL;
        NEW.points_reversed := 0;
        NEW.points_shortfall := 0;
        NEW.points_returned := 0;
        NEW.refunded_amount := 0;
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
        NEW.points_multiplier := OLD.points_multiplier;
        NEW.points_reversed := OLD.points_reversed;
        NEW.points_shortfall := OLD.points_shortfall;
        NEW.points_returned := OLD.points_returned;
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
        -- A refund: refunded_amount rises, or the status moves to refunded (everything left).
        IF NEW.refunded_amount IS DISTINCT FROM OLD.refunded_amount THEN
            IF OLD.status <> 'completed' THEN
                RAISE EXCEPTION 'only a completed sale can be refunded; this one is %', OLD.status
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.refunded_amount IS NULL OR NEW.refunded_amount <= OLD.refunded_amount THEN
                RAISE EXCEPTION 'a refund must be more than zero' USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.refunded_amount > NEW.amount THEN
                RAISE EXCEPTION 'at most % % is left to refund', NEW.amount - OLD.refunded_amount, NEW.currency
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.status NOT IN ('completed', 'refunded')
               OR (NEW.status = 'refunded' AND NEW.refunded_amount < NEW.amount) THEN
                RAISE EXCEPTION 'a refund of part of a sale leaves it completed'
                    USING ERRCODE = 'check_violation', HINT = 'Refund what is left to make it refunded.';
            END IF;
            NEW.status := CASE WHEN NEW.refunded_amount = NEW.amount THEN 'refunded' ELSE 'completed' END;
        ELSIF OLD.status = 'completed' AND NEW.status = 'refunded' THEN
            NEW.refunded_amount := NEW.amount;
        END IF;
        IF NEW.status = OLD.status AND NEW.refunded_amount = OLD.refunded_amount THEN
            RETURN NEW;
        END IF;
        IF NEW.status <> OLD.status AND NOT (
               (OLD.status = 'pending' AND NEW.status IN ('completed', 'failed', 'cancelled'))
            OR (OLD.status = 'completed' AND NEW.status IN ('refunded', 'cancelled'))) THEN
            RAISE EXCEPTION 'illegal status change for transaction %: % -> %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation',
                      HINT = 'Allowed: pending -> completed, failed or cancelled; completed -> refunded or cancelled.';
        END IF;
        IF NEW.status = 'cancelled' AND OLD.status = 'completed' AND OLD.refunded_amount > 0 THEN
            RAISE EXCEPTION 'a sale refunded in part cannot be cancelled' USING ERRCODE = 'check_violation',
                HINT = 'Refund what is left instead.';
        END IF;
        IF NEW.status = 'refunded' THEN
            NEW.refunded_at := now();
        ELSIF NEW.status = 'cancelled' THEN
            NEW.cancelled_at := now();
        END IF;
        IF OLD.status = 'completed' THEN
            -- Give back the redeemed points and take back the earned ones in proportion to what is
            -- refunded so far, rounded down (div: exact); a cancellation, all of them. The ledger rows
            -- are written here, row by row, so a statement refunding several sales of one customer
            -- sees each refund's effect on the balance.
            IF NEW.status = 'cancelled' THEN
                give := OLD.points_redeemed;
                share_earned := OLD.points_earned;
            ELSE
                give := div(OLD.points_redeemed * NEW.refunded_amount, NEW.amount);
                share_earned := div(OLD.points_earned * NEW.refunded_amount, NEW.amount);
            END IF;
            NEW.points_returned := give;
            give := give - OLD.points_returned;
            owed := share_earned - OLD.points_reversed - OLD.points_shortfall;
            IF give <= 0 AND owed <= 0 THEN
                RETURN NEW;
            END IF;
            what := CASE WHEN NEW.status = 'cancelled' THEN 'purchase cancelled'
                         WHEN NEW.status = 'refunded' AND OLD.refunded_amount = 0 THEN 'purchase refunded'
                         ELSE format('%s %s of a purchase of %s %s refunded',
                                     NEW.refunded_amount - OLD.refunded_amount, NEW.currency, NEW.amount, NEW.currency)
                    END;
            -- Lock the customer before the account, in the order a sale locks them.
            PERFORM 1 FROM customers WHERE id = NEW.customer_id FOR NO KEY UPDATE;
            SELECT id, current_points INTO account_id, available FROM customer_loyalty_accounts
             WHERE customer_id = NEW.customer_id AND merchant_id = NEW.merchant_id FOR NO KEY UPDATE;
            IF give > 0 THEN
                INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                                 points_change, description)
                VALUES (account_id, NEW.id, 'reverse', give, 'Given back: ' || what);
                available := available + give;
            END IF;
            IF owed > 0 THEN
                -- Points of the sale that expired are gone already: they are written off, not taken
                -- again from the customer's other points. Counted last: what earlier refunds settled
                -- was what had not expired.
                SELECT coalesce(-sum(x.points_change), 0) INTO expired
                  FROM points_transactions e
                  JOIN points_lots l ON l.entry_id = e.id
                  JOIN points_transactions x ON x.lot_id = l.id AND x.transaction_type = 'expire'
                 WHERE e.transaction_id = NEW.id AND e.transaction_type = 'earn';
                written_off := least(owed,
                    greatest(share_earned - (OLD.points_earned - expired), 0)
                    - greatest(OLD.points_reversed + OLD.points_shortfall - (OLD.points_earned - expired), 0));
                -- What the balance allows under the program's policy; the rest is a shortfall.
                SELECT * INTO program FROM loyalty_programs WHERE merchant_id = NEW.merchant_id AND is_active;
                lowest := CASE WHEN program.shortfall_policy = 'allow_negative' THEN -program.max_negative_points
                               ELSE 0 END;
                taken := least(owed - written_off, greatest(coalesce(available, 0) - lowest, 0));
                NEW.points_reversed := OLD.points_reversed + taken;
                NEW.points_shortfall := OLD.points_shortfall + owed - taken;
                IF taken > 0 THEN
                    INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                                     points_change, description)
                    VALUES (account_id, NEW.id, 'reverse', -taken, 'Taken back: ' || what
                            || CASE WHEN owed = taken THEN ''
                                    WHEN written_off > 0 THEN format(' (%s points spent or expired)', owed - taken)
                                    ELSE format(' (%s points already spent)', owed - taken) END);
                END IF;
            END IF;
            RETURN NEW;
        END IF;
        IF NEW.status <> 'completed' THEN
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.status = 'completed' THEN
        NEW.completed_at := coalesce(NEW.completed_at, statement_timestamp());  -- never before created_at
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
            NEW.points_multiplier := 1;
            IF EXISTS (SELECT 1 FROM loyalty_tiers WHERE program_id = program.id) THEN
                NEW.points_multiplier := coalesce((loyalty_tier_for(
                    program.id, loyalty_points_last_year(NEW.customer_id, NEW.merchant_id))).multiplier, 1);
            END IF;
            NEW.points_earned := loyalty_points_for(program, CASE WHEN program.earn_on_total THEN NEW.amount
                                                                  ELSE NEW.amount - NEW.discount_amount END,
                                                    NEW.points_multiplier);
        END IF;
    END IF;
    RETURN NEW;
END $$;

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

CREATE OR REPLACE FUNCTION update_loyalty_points() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OF status, refunded_amount: the customer's account at the merchant
-- and its ledger.
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
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, description)
            VALUES (account_id, NEW.id, 'redeem', -NEW.points_redeemed,
                    format('Paid %s %s of a purchase of %s %s', NEW.discount_amount, NEW.currency,
                           NEW.amount, NEW.currency));
        END IF;
        IF NEW.points_earned > 0 THEN
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_id, transaction_type,
                                             points_change, multiplier, description)
            VALUES (account_id, NEW.id, 'earn', NEW.points_earned, NEW.points_multiplier,
                    format('Earned on a purchase of %s %s', NEW.amount, NEW.currency)
                    || CASE WHEN NEW.points_multiplier > 1 THEN format(' (tier ×%s)', NEW.points_multiplier)
                            ELSE '' END);
        END IF;
    ELSIF TG_OP = 'UPDATE' AND OLD.status = 'completed'
          AND (NEW.status IN ('refunded', 'cancelled') OR NEW.refunded_amount > OLD.refunded_amount) THEN
        UPDATE customer_loyalty_accounts
           SET total_spent = total_spent - CASE WHEN NEW.status = 'cancelled' THEN OLD.amount
                                                ELSE NEW.refunded_amount - OLD.refunded_amount END,
               total_transactions = total_transactions - (NEW.status <> 'completed')::integer
         WHERE customer_id = NEW.customer_id AND merchant_id = NEW.merchant_id;
        -- The refund's ledger rows are written by check_transaction_change(), row by row.
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER transactions_20_update_customer_totals ON transactions;
CREATE TRIGGER transactions_20_update_customer_totals
    AFTER INSERT OR UPDATE OF status, refunded_amount ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_customer_totals();
DROP TRIGGER transactions_30_update_loyalty_points ON transactions;
CREATE TRIGGER transactions_30_update_loyalty_points
    AFTER INSERT OR UPDATE OF status, refunded_amount ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_loyalty_points();

CREATE OR REPLACE FUNCTION rollup_merchant_daily_analytics(p_merchant uuid DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
-- Fold pending deltas (of one merchant, or all) into merchant_daily_analytics, and each sale's
-- local hour into merchant_hourly_analytics. It takes each
-- merchant's roll-up lock, in id order: a sale only tries it (and skips when it is taken), a
-- rebuild waits for it.
DECLARE
    folded integer;
BEGIN
    PERFORM pg_advisory_xact_lock(2031, hashtext(pending.merchant_id::text))
       FROM (SELECT DISTINCT merchant_id FROM merchant_daily_analytics_deltas
              WHERE p_merchant IS NULL OR merchant_id = p_merchant ORDER BY merchant_id) pending;
    WITH moved AS (
        DELETE FROM merchant_daily_analytics_deltas
         WHERE p_merchant IS NULL OR merchant_id = p_merchant
        RETURNING *
    ), summed AS (
        SELECT merchant_id, date, sum(total_sales) AS total_sales, sum(total_transactions) AS total_transactions,
               sum(unique_customers) AS unique_customers, sum(new_customers) AS new_customers,
               sum(points_issued) AS points_issued, sum(points_redeemed) AS points_redeemed,
               sum(points_reversed) AS points_reversed, sum(total_refunds) AS total_refunds,
               sum(refund_count) AS refund_count
          FROM moved GROUP BY merchant_id, date
    ), hours AS (
        INSERT INTO merchant_hourly_analytics AS h (merchant_id, date, hour, total_transactions)
        SELECT merchant_id, date, hour, sum(total_transactions) FROM moved WHERE hour IS NOT NULL
         GROUP BY merchant_id, date, hour ORDER BY merchant_id, date, hour
        ON CONFLICT (merchant_id, date, hour) DO UPDATE
           SET total_transactions = h.total_transactions + EXCLUDED.total_transactions
    ), written AS (
        INSERT INTO merchant_daily_analytics AS d
               (merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
                points_issued, points_redeemed, points_reversed, total_refunds, refund_count)
        SELECT merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
               points_issued, points_redeemed, points_reversed, total_refunds, refund_count
          FROM summed ORDER BY merchant_id, date
        ON CONFLICT (merchant_id, date) DO UPDATE
           SET total_sales = d.total_sales + EXCLUDED.total_sales,
               total_transactions = d.total_transactions + EXCLUDED.total_transactions,
               unique_customers = d.unique_customers + EXCLUDED.unique_customers,
               new_customers = d.new_customers + EXCLUDED.new_customers,
               points_issued = d.points_issued + EXCLUDED.points_issued,
               points_redeemed = d.points_redeemed + EXCLUDED.points_redeemed,
               points_reversed = d.points_reversed + EXCLUDED.points_reversed,
               total_refunds = d.total_refunds + EXCLUDED.total_refunds,
               refund_count = d.refund_count + EXCLUDED.refund_count
        RETURNING 1
    )
    SELECT count(*) INTO folded FROM written;
    RETURN folded;
END $$;

CREATE OR REPLACE FUNCTION rebuild_merchant_daily_analytics(p_from date, p_to date, p_merchant uuid DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
-- Recompute the rows of [p_from, p_to] (merchant-local dates) from transactions and the ledger.
-- Sales count on their completion day; each refund (transaction_refunds) on its own.
-- One statement, so one snapshot: the deltas it drops are those of the sales it counts; sales
-- committing meanwhile keep their deltas, rolled up later. Their roll-up locks keep the
-- merchants' sales from rolling up meanwhile.
DECLARE
    written integer;
BEGIN
    PERFORM pg_advisory_xact_lock(2031, hashtext(locked.id::text))
       FROM (SELECT id FROM merchants WHERE p_merchant IS NULL OR id = p_merchant ORDER BY id) locked;
    WITH m AS (
        SELECT id, timezone FROM merchants WHERE p_merchant IS NULL OR id = p_merchant
    ), dropped_deltas AS (
        DELETE FROM merchant_daily_analytics_deltas d USING m
         WHERE d.merchant_id = m.id AND d.date BETWEEN p_from AND p_to
        RETURNING d.id
    ), sales AS (
        SELECT t.merchant_id, (t.completed_at AT TIME ZONE m.timezone)::date AS date, t.customer_id,
               t.amount, t.points_earned, extract(hour FROM t.completed_at AT TIME ZONE m.timezone) AS hour
          FROM transactions t JOIN m ON m.id = t.merchant_id
         WHERE t.completed_at >= p_from - interval '2 days' AND t.completed_at < p_to + interval '3 days'
    ), sales_in_range AS (
        SELECT * FROM sales WHERE date BETWEEN p_from AND p_to
    ), first_sales AS (
        -- each customer's first sale at the merchant, over all time
        SELECT t.merchant_id, t.customer_id, min(t.completed_at) AS first_at
          FROM transactions t JOIN m ON m.id = t.merchant_id
         WHERE t.completed_at IS NOT NULL
         GROUP BY t.merchant_id, t.customer_id
    ), refunds AS (
        SELECT r.merchant_id, (r.created_at AT TIME ZONE m.timezone)::date AS date,
               r.amount, r.points_taken_back AS points_reversed
          FROM transaction_refunds r JOIN m ON m.id = r.merchant_id
         WHERE r.created_at >= p_from - interval '2 days' AND r.created_at < p_to + interval '3 days'
    ), redemptions AS (
        SELECT a.merchant_id, (p.created_at AT TIME ZONE m.timezone)::date AS date, -p.points_change AS points
          FROM points_transactions p
          JOIN customer_loyalty_accounts a ON a.id = p.customer_loyalty_account_id
          JOIN m ON m.id = a.merchant_id
         WHERE (p.transaction_type = 'redeem' OR (p.transaction_type = 'reverse' AND p.points_change > 0))
           AND p.created_at >= p_from - interval '2 days' AND p.created_at < p_to + interval '3 days'
    ), days AS (
        SELECT merchant_id, date, sum(amount) AS total_sales, count(*) AS total_transactions,
               count(DISTINCT customer_id) AS unique_customers, sum(points_earned) AS points_issued,
               0 AS points_redeemed, 0 AS points_reversed, 0 AS total_refunds, 0 AS refund_count
          FROM sales_in_range GROUP BY merchant_id, date
        UNION ALL
        SELECT merchant_id, date, 0, 0, 0, 0, 0, sum(points_reversed), sum(amount), count(*)
          FROM refunds WHERE date BETWEEN p_from AND p_to GROUP BY merchant_id, date
        UNION ALL
        SELECT merchant_id, date, 0, 0, 0, 0, sum(points), 0, 0, 0
          FROM redemptions WHERE date BETWEEN p_from AND p_to GROUP BY merchant_id, date
    ), new_customers AS (
        SELECT f.merchant_id, (f.first_at AT TIME ZONE m.timezone)::date AS date, count(*) AS new_customers
          FROM first_sales f JOIN m ON m.id = f.merchant_id
         WHERE f.first_at >= p_from - interval '2 days' AND f.first_at < p_to + interval '3 days'
         GROUP BY 1, 2
    ), fresh AS (
        SELECT d.merchant_id, d.date, sum(d.total_sales) AS total_sales,
               sum(d.total_transactions) AS total_transactions, sum(d.unique_customers) AS unique_customers,
               coalesce(max(n.new_customers), 0) AS new_customers, sum(d.points_issued) AS points_issued,
               sum(d.points_redeemed) AS points_redeemed, sum(d.points_reversed) AS points_reversed,
               sum(d.total_refunds) AS total_refunds, sum(d.refund_count) AS refund_count
          FROM days d
          LEFT JOIN new_customers n ON n.merchant_id = d.merchant_id AND n.date = d.date
         GROUP BY d.merchant_id, d.date
    ), fresh_hours AS (
        SELECT merchant_id, date, hour, count(*) AS total_transactions FROM sales_in_range GROUP BY 1, 2, 3
    ), hours_emptied AS (
        DELETE FROM merchant_hourly_analytics h USING m
         WHERE h.merchant_id = m.id AND h.date BETWEEN p_from AND p_to
           AND NOT EXISTS (SELECT 1 FROM fresh_hours f
                            WHERE (f.merchant_id, f.date, f.hour) = (h.merchant_id, h.date, h.hour))
        RETURNING h.id
    ), hours_written AS (
        INSERT INTO merchant_hourly_analytics AS h (merchant_id, date, hour, total_transactions)
        SELECT merchant_id, date, hour, total_transactions FROM fresh_hours ORDER BY 1, 2, 3
        ON CONFLICT (merchant_id, date, hour) DO UPDATE SET total_transactions = EXCLUDED.total_transactions
    ), emptied AS (
        DELETE FROM merchant_daily_analytics a USING m
         WHERE a.merchant_id = m.id AND a.date BETWEEN p_from AND p_to
           AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.merchant_id = a.merchant_id AND f.date = a.date)
        RETURNING a.id
    )
    INSERT INTO merchant_daily_analytics AS a
           (merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
            points_issued, points_redeemed, points_reversed, total_refunds, refund_count)
    SELECT merchant_id, date, total_sales, total_transactions, unique_customers, new_customers, points_issued,
           points_redeemed, points_reversed, total_refunds, refund_count
      FROM fresh ORDER BY merchant_id, date
    ON CONFLICT (merchant_id, date) DO UPDATE
       SET total_sales = EXCLUDED.total_sales, total_transactions = EXCLUDED.total_transactions,
           unique_customers = EXCLUDED.unique_customers, new_customers = EXCLUDED.new_customers,
           points_issued = EXCLUDED.points_issued, points_redeemed = EXCLUDED.points_redeemed,
           points_reversed = EXCLUDED.points_reversed, total_refunds = EXCLUDED.total_refunds,
           refund_count = EXCLUDED.refund_count;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;
SELECT create_missing_points_lots();
-- The hourly figures of the sales so far.
SELECT rebuild_merchant_daily_analytics(d.first, d.last)
  FROM (SELECT min(completed_at)::date - 1 AS first, max(completed_at)::date + 1 AS last FROM transactions) d
 WHERE d.first IS NOT NULL;

CREATE TRIGGER points_lots_guard
    BEFORE INSERT OR UPDATE OR DELETE ON points_lots
    FOR EACH ROW EXECUTE FUNCTION guard_points_lots();
CREATE TRIGGER transaction_refunds_guard
    BEFORE INSERT OR UPDATE OR DELETE ON transaction_refunds
    FOR EACH ROW EXECUTE FUNCTION guard_written_by_triggers();
CREATE TRIGGER loyalty_tiers_audit AFTER INSERT OR UPDATE OR DELETE ON loyalty_tiers
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
-- Adjustments by hand are audited too (the rest of the ledger is a record already).
CREATE TRIGGER points_transactions_audit_adjustments AFTER INSERT ON points_transactions
    FOR EACH ROW WHEN (NEW.transaction_type = 'adjust') EXECUTE FUNCTION audit_row_change();
"""

REVERSE_SQL = (
    """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM transactions WHERE status = 'completed' AND refunded_amount > 0)
       OR EXISTS (SELECT 1 FROM points_transactions WHERE balance_after < 0 OR transaction_type = 'expire')
       OR EXISTS (SELECT 1 FROM loyalty_tiers) THEN
        RAISE EXCEPTION 'partial refunds, negative balances, expiries or tiers exist: the earlier rules cannot '
                        'keep them' USING ERRCODE = 'object_in_use';
    END IF;
END $$;
DROP TRIGGER points_transactions_audit_adjustments ON points_transactions;
DROP TRIGGER loyalty_tiers_audit ON loyalty_tiers;
DROP TRIGGER transaction_refunds_guard ON transaction_refunds;
DROP TRIGGER points_lots_guard ON points_lots;
DROP TRIGGER transactions_30_update_loyalty_points ON transactions;
DROP TRIGGER transactions_20_update_customer_totals ON transactions;
DROP FUNCTION expire_points(integer);
DROP FUNCTION create_missing_points_lots();
DROP FUNCTION guard_written_by_triggers();
DROP FUNCTION guard_points_lots();
"""
    # The functions as the migrations before this one left them.
    + "\n\n".join(
        [
            frozen("loyalty", "apply_points_change", 1),
            frozen("loyalty", "loyalty_points_for", 1),
            frozen("transactions", "check_transaction_change", 1),
            frozen("transactions", "update_customer_totals", 1),
            frozen("transactions", "update_loyalty_points", 1),
            frozen("analytics", "rebuild_merchant_daily_analytics", 1),
            frozen("analytics", "rollup_merchant_daily_analytics", 1),
        ]
    )
    + """
DROP FUNCTION loyalty_tier_for(uuid, integer);
DROP FUNCTION loyalty_points_last_year(uuid, uuid);
DROP FUNCTION loyalty_points_for(loyalty_programs, numeric, numeric);
CREATE TRIGGER transactions_20_update_customer_totals
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_customer_totals();
CREATE TRIGGER transactions_30_update_loyalty_points
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW EXECUTE FUNCTION update_loyalty_points();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0003_refunds"),
        ("loyalty", "0004_points_lots_tiers"),
        ("analytics", "0004_hourly"),
        ("system", "0003_audit_and_timestamps"),
    ]
    operations = [
        migrations.RunSQL(BACKFILL, "DELETE FROM transaction_refunds;"),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
