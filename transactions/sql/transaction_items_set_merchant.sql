-- A line item's merchant_id, when its writer leaves it out, is its sale's.
CREATE OR REPLACE TRIGGER transaction_items_set_merchant
    BEFORE INSERT ON transaction_items
    FOR EACH ROW WHEN (NEW.merchant_id IS NULL) EXECUTE FUNCTION transaction_item_merchant();
