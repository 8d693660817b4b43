-- After a sale completes: the account at the merchant, and the sale's redeem and earn rows in
-- the ledger, exactly once; after a refund, the account's spend.
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
