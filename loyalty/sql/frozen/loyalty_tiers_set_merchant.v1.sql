-- A tier's merchant_id is its program's merchant.
CREATE OR REPLACE TRIGGER loyalty_tiers_set_merchant
    BEFORE INSERT OR UPDATE OF program_id, merchant_id ON loyalty_tiers
    FOR EACH ROW EXECUTE FUNCTION loyalty_tier_merchant();
