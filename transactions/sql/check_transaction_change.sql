-- The rules of a sale, before it is written: its currency, the legal status moves, the points
-- it redeems (within the program's limits) and earns (program, tier, earn-on-total), and each
-- refund's points given and taken back under the shortfall policy. Derived columns are the
-- database's: whatever a writer sends for them is replaced.
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
    merged_to uuid;
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
        -- A sale moves to another customer only in a merge of the two (merge_customers()).
        IF (NEW.id, NEW.merchant_id, NEW.currency) IS DISTINCT FROM (OLD.id, OLD.merchant_id, OLD.currency)
           OR (NEW.customer_id IS DISTINCT FROM OLD.customer_id
               AND NOT customer_merge_moves(OLD.customer_id, NEW.customer_id, NEW.merchant_id)) THEN
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
                -- Its lots are its earn row's and those a merge moved on from it (sale_points_lots()).
                SELECT coalesce(-sum(x.points_change), 0) INTO expired
                  FROM sale_points_lots(NEW.id) l (id)
                  JOIN points_transactions x ON x.lot_id = l.id AND x.transaction_type = 'expire';
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
        -- Lock the customer (before the account, in the order a sale locks them): a merged customer's
        -- sales go to the customer it was merged into, and a merge waits for this sale or this sale for it.
        SELECT merged_into_id INTO merged_to FROM customers WHERE id = NEW.customer_id FOR NO KEY UPDATE;
        IF merged_to IS NOT NULL THEN
            RAISE EXCEPTION 'customer % was merged into another customer: sell to that one', NEW.customer_id
                USING ERRCODE = 'check_violation';
        END IF;
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
            NEW.discount_amount := loyalty_redemption_discount(program, NEW.points_redeemed);
            most := loyalty_redemption_limit(program, NEW.amount);
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
            NEW.points_earned := loyalty_sale_points(program, NEW.amount, NEW.discount_amount, NEW.points_multiplier);
        END IF;
    END IF;
    RETURN NEW;
END $$;
