-- system_settings.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER system_settings_set_updated_at
    BEFORE UPDATE ON system_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
