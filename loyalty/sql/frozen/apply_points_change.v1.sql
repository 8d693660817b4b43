CREATE OR REPLACE FUNCTION apply_points_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
