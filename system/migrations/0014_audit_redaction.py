"""Secrets never in audit_logs, and a customer's personal data redactable from the logs.

audit_row_change writes the values of each table's secret columns (audit_secret_columns: the card token, an API
key's hash, a password) as "[redacted]" through audit_redacted; redact_customer_logs redacts a customer's
personal values in its audit history and its scans, and records it as a REDACT row; audit_logs' UPDATE guard
(audit_logs_guard) lets through that redaction and nothing else. Then the snapshots written before carrying a
secret in clear (the customers' card_token) are redacted. Going backwards installs the old trigger and function
and drops the new ones; the redacted values are not brought back.

Install the frozen versions of: audit_logs_guard, audit_personal_columns, audit_redacted, audit_secret_columns,
redact_customer_logs, audit_logs_append_only, audit_row_change."""

from django.db import migrations

from system.sqlfiles import install

# The snapshots of the tables with secret columns, through the new guard (found by audit_logs_record_idx).
REDACT_OLD_SECRETS = """
    UPDATE audit_logs
       SET old_values = audit_redacted(table_name, old_values, NULL),
           new_values = audit_redacted(table_name, new_values, NULL)
     WHERE table_name IN ('customers', 'api_keys', 'users')
       AND (old_values IS DISTINCT FROM audit_redacted(table_name, old_values, NULL)
            OR new_values IS DISTINCT FROM audit_redacted(table_name, new_values, NULL))
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_rules_as_functions"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0001_initial"),
        ("loyalty", "0009_members_by_points_and_id"),
        ("merchants", "0001_initial"),
        ("system", "0013_audit_redact_and_scan_privacy_indexes"),
        ("transactions", "0006_scan_pause_lifts"),
    ]
    operations = [
        install("system", "audit_logs_guard", 1, reverse="DROP FUNCTION audit_logs_guard();"),
        install("system", "audit_personal_columns", 1, reverse="DROP FUNCTION audit_personal_columns(text);"),
        install("system", "audit_redacted", 1, reverse="DROP FUNCTION audit_redacted(text,jsonb,text[]);"),
        install("system", "audit_secret_columns", 1, reverse="DROP FUNCTION audit_secret_columns(text);"),
        install("system", "redact_customer_logs", 1, reverse="DROP FUNCTION redact_customer_logs(uuid,text);"),
        install("system", "audit_logs_append_only", 2, reverse=1),
        install("system", "audit_row_change", 2, reverse=1),
        migrations.RunSQL(REDACT_OLD_SECRETS, migrations.RunSQL.noop),
    ]
