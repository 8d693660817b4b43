-- A line item written without its merchant takes its sale's.
CREATE OR REPLACE FUNCTION transaction_item_merchant() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEFORE INSERT OR UPDATE ON transaction_items, only for a row without merchant_id (the trigger's WHEN):
-- the sale's merchant. A row naming one is checked by the foreign key (merchant_id,
-- transaction_id) -> transactions (merchant_id, id); a writer that names it pays no lookup.
BEGIN
    NEW.merchant_id := (SELECT merchant_id FROM transactions WHERE id = NEW.transaction_id);
    RETURN NEW;
END $$;
