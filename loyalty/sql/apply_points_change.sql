-- The ledger's trigger: every points_transactions row moves its account's balance and totals
-- under the customer's lock and keeps the account's lots, so the balance is always the sum of
-- the ledger and the lots hold it. The row and its lot take the account's merchant.
CREATE OR REPLACE FUNCTION apply_points_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEFORE INSERT ON points_transactions: move the account by points_change, under the
-- customer's row lock, record the balance after, and keep the account's lots: a row adding
-- points opens a lot; a row taking points uses the oldest lots first (a take-back of a
-- refunded sale uses that sale's lots first (sale_points_lots()); an expiry, its own lot). The balance goes below
-- zero only for a take-back under a program that allows it, down to its limit.
-- An `expire` row takes what is left of its lot when the row is written; when nothing is
-- left or the lot is not yet due, the row is skipped, so expiring twice changes nothing.
-- `merge_earned` and `merge_redeemed` rows are written by merge_customers() only, in sets that
-- add up to zero on each account: they may pass below zero, and a row taking points uses the
-- lots of such rows first, the newest first for such a row, so the set leaves the other lots as
-- they were. A `merge_lot` row brings one open lot of a merged account (lot_id) to the target's.
DECLARE
    account_merchant uuid;
    account_customer uuid;
    program loyalty_programs;
    lowest integer := 0;
    before_points integer;
    to_use integer;
    own_lots uuid[];
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
        WHEN NEW.transaction_type NOT IN ('earn', 'redeem', 'reverse', 'expire', 'adjust', 'merge_earned',
                                          'merge_redeemed', 'merge_lot')
            THEN 'points_transactions_transaction_type_valid'
        WHEN NEW.points_change = 0 THEN 'points_transactions_change_nonzero'
        WHEN (NEW.transaction_type IN ('earn', 'merge_lot') AND NEW.points_change < 0)
          OR (NEW.transaction_type IN ('redeem', 'expire') AND NEW.points_change > 0)
            THEN 'points_transactions_sign_matches_type'
        WHEN (NEW.lot_id IS NULL) <> (NEW.transaction_type NOT IN ('expire', 'merge_lot'))
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
    -- The row's merchant is its account's: a writer may leave it out, never name another.
    IF NEW.merchant_id <> account_merchant THEN
        RAISE EXCEPTION 'a ledger row belongs to its account''s merchant'
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('merchant %s, the account''s %s', NEW.merchant_id, account_merchant);
    END IF;
    NEW.merchant_id := account_merchant;
    -- Points earned or taken back belong to a sale of this customer at this merchant.
    IF NEW.transaction_type IN ('earn', 'reverse') AND NOT EXISTS (
        SELECT 1 FROM transactions t
         WHERE t.id = NEW.transaction_id AND t.customer_id = account_customer AND t.merchant_id = account_merchant)
    THEN
        RAISE EXCEPTION '% points belong to a sale of this account''s customer at its merchant',
            NEW.transaction_type USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.transaction_type IN ('merge_earned', 'merge_redeemed', 'merge_lot')
       AND NOT customer_merge_touches(account_customer)
    THEN
        RAISE EXCEPTION '% rows are written by a merge of the account''s customer only', NEW.transaction_type
            USING ERRCODE = 'check_violation';
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
           total_points_earned = total_points_earned + ledger_points_earned(NEW.transaction_type, NEW.points_change),
           total_points_redeemed = total_points_redeemed
                                   + ledger_points_redeemed(NEW.transaction_type, NEW.points_change)
     WHERE id = NEW.customer_loyalty_account_id
    RETURNING current_points INTO NEW.balance_after;
    before_points := NEW.balance_after - NEW.points_change;
    IF NEW.balance_after < 0 AND NEW.points_change < 0 AND NEW.transaction_type NOT IN ('merge_earned', 'merge_redeemed')
    THEN
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
        INSERT INTO points_lots (customer_loyalty_account_id, merchant_id, entry_id, points, remaining, earned_at,
                                 expires_at)
        SELECT NEW.customer_loyalty_account_id, account_merchant, NEW.id, NEW.points_change,
               greatest(NEW.balance_after, 0) - greatest(before_points, 0), NEW.created_at,
               loyalty_lot_expiry(p.points_expiry_days, NEW.created_at)
          FROM (SELECT NULL) one
          LEFT JOIN loyalty_programs p ON p.merchant_id = account_merchant AND p.is_active;
    ELSE
        to_use := greatest(before_points, 0) - greatest(NEW.balance_after, 0);
        IF NEW.transaction_type = 'expire' THEN
            UPDATE points_lots SET remaining = remaining - to_use WHERE id = NEW.lot_id;
        ELSIF to_use > 0 THEN
            IF NEW.transaction_type = 'reverse' THEN
                own_lots := ARRAY(SELECT sale_points_lots(NEW.transaction_id));
            END IF;
            UPDATE points_lots l SET remaining = l.remaining - u.used
              FROM (SELECT id, least(remaining, to_use - (running - remaining)) AS used
                      FROM (SELECT id, remaining,
                                   sum(remaining) OVER (ORDER BY own DESC, merged DESC,
                                                                 CASE WHEN newest_first THEN -age ELSE age END)
                                       AS running
                              FROM (SELECT o.id, o.remaining, coalesce(o.id = ANY (own_lots), false) AS own,
                                           e.transaction_type IN ('merge_earned', 'merge_redeemed') AS merged,
                                           NEW.transaction_type IN ('merge_earned', 'merge_redeemed') AS newest_first,
                                           row_number() OVER (ORDER BY o.earned_at, o.id) AS age
                                      FROM points_lots o
                                      JOIN points_transactions e ON e.id = o.entry_id
                                     WHERE o.customer_loyalty_account_id = NEW.customer_loyalty_account_id
                                       AND o.remaining > 0) ranked) open_lots
                     WHERE running - remaining < to_use) u
             WHERE l.id = u.id;
        END IF;
    END IF;
    IF ledger_points_redeemed(NEW.transaction_type, NEW.points_change) <> 0 THEN
        -- Points redeemed, net of those a refund gave back (on the refund's day), as the account counts them.
        INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, points_redeemed)
        SELECT m.id, (NEW.created_at AT TIME ZONE m.timezone)::date,
               ledger_points_redeemed(NEW.transaction_type, NEW.points_change)
          FROM merchants m
         WHERE m.id = account_merchant;
    END IF;
    RETURN NEW;
END $$;
