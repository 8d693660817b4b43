-- A line item's merchant_id, when its writer leaves it out, is its sale's (an item saved again from a model
-- that never read it back included).
CREATE OR REPLACE TRIGGER transaction_items_set_merchant
    BEFORE INSERT OR UPDATE ON transaction_items
    FOR EACH ROW WHEN (NEW.merchant_id IS NULL) EXECUTE FUNCTION transaction_item_merchant();
