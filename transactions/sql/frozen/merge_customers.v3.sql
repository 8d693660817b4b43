-- Two customers who are the same person: moves the source's sales, visits and points to the
-- target, at one merchant (p_merchant) or everywhere (NULL: the source becomes 'merged' into the
-- target), in one transaction, never rewriting the ledger. Returns the customer_merges row's id.
CREATE OR REPLACE FUNCTION merge_customers(p_source uuid, p_target uuid, p_merchant uuid DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
-- Locks the source's sales that move (a refund locks its sale before the customer), then both
-- customers and their accounts in primary-key order. Refuses, changing nothing: a customer into
-- itself, a source merged or erased already, a target merged or erased; at one merchant, two
-- customers who are not both members there.
-- Each source account moves: where the target has no account at its merchant, the account itself
-- (its ledger and lots follow); else its points go by an 'adjust' row ("Merged into") and one
-- 'merge_lot' row per open lot ("Merged from", naming the lot, keeping its expiry), its earned and
-- redeemed totals by a set of 'merge_earned', 'merge_redeemed' and 'adjust' rows on each account
-- that adds up to zero points ("Totals moved"), so a refund of a moved sale takes back and gives
-- back points within the target's totals, from its moved lot first, writing off what of it
-- expired; and its spend figures are added to the target's.
-- The sales and visits move to the target (visits of one day are added up), the customers'
-- totals with them, and the daily figures lose the customers counted twice (unique and new).
-- The guards let a sale, an account and the totals move only for the merge named in
-- app.customer_merge, a customer_merges row (audited) written here: set while this runs only.
-- A platform merge gives the target the source's email and phone where it has none, and points
-- the customers merged into the source at the target.
DECLARE
    src customers;
    tgt customers;
    merge_id uuid;
    acc customer_loyalty_accounts;
    target_account customer_loyalty_accounts;
    open_lots points_lots[];
    lot points_lots;
    entry uuid;
    debt integer;
    earned integer;
    redeemed integer;
    source_totals text;
    target_totals text;
    moved_spent numeric;
    moved_sales integer;
    last_sale timestamptz;
    new_email text;
    new_phone text;
    folded_merchant uuid;
BEGIN
    IF p_source IS NULL OR p_target IS NULL THEN
        RAISE EXCEPTION 'name both customers to merge' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_source = p_target THEN
        RAISE EXCEPTION 'a customer cannot be merged into itself' USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM transactions t
     WHERE t.customer_id = p_source AND (p_merchant IS NULL OR t.merchant_id = p_merchant)
     ORDER BY t.id FOR NO KEY UPDATE;
    PERFORM 1 FROM customers c WHERE c.id IN (p_source, p_target) ORDER BY c.id FOR UPDATE;
    SELECT * INTO src FROM customers c WHERE c.id = p_source;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no customer %', p_source USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO tgt FROM customers c WHERE c.id = p_target;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no customer %', p_target USING ERRCODE = 'no_data_found';
    END IF;
    IF src.status = 'merged' THEN
        RAISE EXCEPTION 'customer % is merged already', src.customer_code USING ERRCODE = 'check_violation';
    ELSIF src.status = 'erased' THEN
        RAISE EXCEPTION 'customer % was erased', src.customer_code USING ERRCODE = 'check_violation';
    ELSIF tgt.status IN ('merged', 'erased') THEN
        RAISE EXCEPTION 'customer % is %: merge into a customer that is not', tgt.customer_code, tgt.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_merchant IS NOT NULL AND (
        SELECT count(*) FROM customer_loyalty_accounts a
         WHERE a.customer_id IN (p_source, p_target) AND a.merchant_id = p_merchant) < 2 THEN
        RAISE EXCEPTION 'customers % and % are not both members of this merchant', src.customer_code,
            tgt.customer_code USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM customer_loyalty_accounts a
     WHERE a.customer_id IN (p_source, p_target) AND (p_merchant IS NULL OR a.merchant_id = p_merchant)
     ORDER BY a.id FOR UPDATE;

    INSERT INTO customer_merges (id, source_id, target_id, merchant_id, created_by_id, created_at)
    VALUES (gen_random_uuid(), p_source, p_target, p_merchant,
            nullif(current_setting('app.user_id', true), '')::uuid, now())
    RETURNING id INTO merge_id;
    PERFORM set_config('app.customer_merge', merge_id::text, true);

    IF p_merchant IS NULL THEN
        -- The target keeps its own email and phone; where it has none, the source's move to it.
        new_email := CASE WHEN tgt.email IS NULL THEN src.email END;
        new_phone := CASE WHEN tgt.phone = '' AND src.phone <> '' THEN src.phone END;
        UPDATE customers c
           SET email = CASE WHEN new_email IS NULL THEN c.email END,
               phone = CASE WHEN new_phone IS NULL THEN c.phone ELSE '' END
         WHERE c.id = p_source AND (new_email IS NOT NULL OR new_phone IS NOT NULL);
        UPDATE customers c
           SET email = coalesce(new_email, c.email), phone = coalesce(new_phone, c.phone)
         WHERE c.id = p_target AND (new_email IS NOT NULL OR new_phone IS NOT NULL);
        SELECT * INTO tgt FROM customers c WHERE c.id = p_target;
    END IF;

    -- The daily figures counted the two as two customers: a day both visited counts one, and the
    -- later first visit at a merchant was not a new customer.
    INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, unique_customers)
    SELECT s.merchant_id, s.visit_date, -1
      FROM customer_visits s
      JOIN customer_visits t ON t.customer_id = p_target AND t.merchant_id = s.merchant_id
                            AND t.visit_date = s.visit_date
     WHERE s.customer_id = p_source AND (p_merchant IS NULL OR s.merchant_id = p_merchant);
    INSERT INTO merchant_daily_analytics_deltas (merchant_id, date, new_customers)
    SELECT f.merchant_id, greatest(f.source_first, f.target_first), -1
      FROM (SELECT v.merchant_id, min(v.visit_date) FILTER (WHERE v.customer_id = p_source) AS source_first,
                   min(v.visit_date) FILTER (WHERE v.customer_id = p_target) AS target_first
              FROM customer_visits v
             WHERE v.customer_id IN (p_source, p_target) AND (p_merchant IS NULL OR v.merchant_id = p_merchant)
             GROUP BY v.merchant_id) f
     WHERE f.source_first IS NOT NULL AND f.target_first IS NOT NULL;

    FOR acc IN
        SELECT * FROM customer_loyalty_accounts a
         WHERE a.customer_id = p_source AND (p_merchant IS NULL OR a.merchant_id = p_merchant)
         ORDER BY a.id
    LOOP
        SELECT * INTO target_account FROM customer_loyalty_accounts a
         WHERE a.customer_id = p_target AND a.merchant_id = acc.merchant_id;
        IF NOT FOUND THEN
            -- The account moves whole; what the merchant was given stays only if it is the target's.
            UPDATE customer_loyalty_accounts a
               SET customer_id = p_target,
                   shares_email = a.shares_email AND coalesce(src.email = tgt.email, false),
                   shares_phone = a.shares_phone AND src.phone <> '' AND src.phone = tgt.phone
             WHERE a.id = acc.id;
            CONTINUE;
        END IF;
        IF acc.current_points > 0 THEN
            open_lots := ARRAY(SELECT l FROM points_lots l
                                WHERE l.customer_loyalty_account_id = acc.id AND l.remaining > 0
                                ORDER BY l.earned_at, l.id);
            INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change,
                                             description)
            VALUES (acc.id, 'adjust', -acc.current_points, format('Merged into customer %s', tgt.customer_code));
            FOREACH lot IN ARRAY open_lots LOOP
                INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change,
                                                 lot_id, description)
                VALUES (target_account.id, 'merge_lot', lot.remaining, lot.id,
                        format('Merged from customer %s (points received %s)', src.customer_code,
                               (lot.earned_at AT TIME ZONE (SELECT m.timezone FROM merchants m
                                                             WHERE m.id = acc.merchant_id))::date))
                RETURNING id INTO entry;
                UPDATE points_lots l SET expires_at = lot.expires_at
                 WHERE l.entry_id = entry AND l.remaining > 0 AND l.expires_at IS DISTINCT FROM lot.expires_at;
            END LOOP;
        ELSIF acc.current_points < 0 THEN
            -- A negative balance (a refund's take-back) moves as far as the target's points cover it.
            debt := least(-acc.current_points, greatest(target_account.current_points, 0));
            IF debt > 0 THEN
                INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change,
                                                 description)
                VALUES (acc.id, 'adjust', debt, format('Merged into customer %s', tgt.customer_code)),
                       (target_account.id, 'adjust', -debt,
                        format('Merged from customer %s (points owed)', src.customer_code));
            END IF;
        END IF;
        -- The totals: each account's rows add up to zero; positive rows first, and the rows taking
        -- points use the lots of the set's own 'merge_*' rows first (apply_points_change()).
        earned := acc.total_points_earned;
        redeemed := acc.total_points_redeemed;
        source_totals := format('Totals moved to customer %s (%s points earned, %s redeemed)', tgt.customer_code,
                                earned, redeemed);
        target_totals := format('Totals moved from customer %s (%s points earned, %s redeemed)',
                                src.customer_code, earned, redeemed);
        INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change, description)
        SELECT r.account, r.kind, r.points, r.description
          FROM (VALUES (1, acc.id, 'merge_redeemed', redeemed, source_totals),
                       (2, acc.id, 'adjust', earned - redeemed, source_totals),
                       (3, acc.id, 'merge_earned', -earned, source_totals),
                       (4, target_account.id, 'adjust', redeemed - earned, target_totals),
                       (5, target_account.id, 'merge_earned', earned, target_totals),
                       (6, target_account.id, 'adjust', redeemed - earned, target_totals),
                       (7, target_account.id, 'merge_redeemed', -redeemed, target_totals))
               AS r (step, account, kind, points, description)
         WHERE r.points <> 0 AND (r.step <> 4 OR r.points > 0) AND (r.step <> 6 OR r.points < 0)
         ORDER BY r.step;
        UPDATE customer_loyalty_accounts a
           SET total_spent = a.total_spent + acc.total_spent,
               total_transactions = a.total_transactions + acc.total_transactions,
               last_visit_at = greatest(a.last_visit_at, acc.last_visit_at),
               shares_email = a.shares_email OR (acc.shares_email AND coalesce(src.email = tgt.email, false)),
               shares_phone = a.shares_phone OR (acc.shares_phone AND src.phone <> '' AND src.phone = tgt.phone)
         WHERE a.id = target_account.id;
        UPDATE customer_loyalty_accounts a SET total_spent = 0, total_transactions = 0, last_visit_at = NULL
         WHERE a.id = acc.id;
    END LOOP;

    -- The sales, and the customers' totals with them.
    SELECT coalesce(sum(t.amount - t.refunded_amount) FILTER (WHERE t.status = 'completed'), 0),
           count(*) FILTER (WHERE t.status = 'completed'), max(t.completed_at)
      INTO moved_spent, moved_sales, last_sale
      FROM transactions t
     WHERE t.customer_id = p_source AND (p_merchant IS NULL OR t.merchant_id = p_merchant);
    UPDATE transactions t SET customer_id = p_target
     WHERE t.customer_id = p_source AND (p_merchant IS NULL OR t.merchant_id = p_merchant);
    UPDATE customers c
       SET total_spent = c.total_spent - moved_spent, total_transactions = c.total_transactions - moved_sales,
           status = CASE WHEN p_merchant IS NULL THEN 'merged' ELSE c.status END,
           merged_into_id = CASE WHEN p_merchant IS NULL THEN p_target END
     WHERE c.id = p_source;
    UPDATE customers c
       SET total_spent = c.total_spent + moved_spent, total_transactions = c.total_transactions + moved_sales,
           last_visit_at = greatest(c.last_visit_at, last_sale)
     WHERE c.id = p_target;
    IF p_merchant IS NULL THEN
        UPDATE customers c SET merged_into_id = p_target WHERE c.merged_into_id = p_source;
    END IF;

    -- The visits: a day both visited is added up into the target's row.
    UPDATE customer_visits t
       SET visit_count = t.visit_count + s.visit_count, total_spent = t.total_spent + s.total_spent,
           first_visit_at = least(t.first_visit_at, s.first_visit_at),
           last_visit_at = greatest(t.last_visit_at, s.last_visit_at)
      FROM customer_visits s
     WHERE s.customer_id = p_source AND t.customer_id = p_target AND t.merchant_id = s.merchant_id
       AND t.visit_date = s.visit_date AND (p_merchant IS NULL OR s.merchant_id = p_merchant);
    DELETE FROM customer_visits s
     USING customer_visits t
     WHERE s.customer_id = p_source AND t.customer_id = p_target AND t.merchant_id = s.merchant_id
       AND t.visit_date = s.visit_date AND (p_merchant IS NULL OR s.merchant_id = p_merchant);
    UPDATE customer_visits v SET customer_id = p_target
     WHERE v.customer_id = p_source AND (p_merchant IS NULL OR v.merchant_id = p_merchant);

    -- Fold the daily figures now, unless a sale is doing it.
    FOR folded_merchant IN
        SELECT DISTINCT d.merchant_id FROM merchant_daily_analytics_deltas d
         WHERE p_merchant IS NULL OR d.merchant_id = p_merchant ORDER BY 1
    LOOP
        IF pg_try_advisory_xact_lock(2031, hashtext(folded_merchant::text)) THEN
            PERFORM rollup_merchant_daily_analytics(folded_merchant);
        END IF;
    END LOOP;
    PERFORM set_config('app.customer_merge', '', true);
    RETURN merge_id;
END $$;
