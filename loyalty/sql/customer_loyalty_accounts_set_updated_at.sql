-- customer_loyalty_accounts.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER customer_loyalty_accounts_set_updated_at
    BEFORE UPDATE ON customer_loyalty_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
