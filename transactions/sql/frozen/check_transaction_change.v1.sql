CREATE OR REPLACE FUNCTION check_transaction_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
