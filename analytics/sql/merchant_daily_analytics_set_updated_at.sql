-- merchant_daily_analytics.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER merchant_daily_analytics_set_updated_at
    BEFORE UPDATE ON merchant_daily_analytics
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
