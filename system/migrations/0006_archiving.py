"""Archiving of old logs: delete_archived_rows(), the one way old rows leave the append-only logs,
audited; scan logs can no longer be deleted otherwise (qr_scan_logs_no_delete); and pgstattuple,
which maintenance reads index bloat with, where the server has it and this user may create it."""

from django.db import migrations

from system.sqlfiles import install

# pgstattuple is in PostgreSQL's contrib, but not every server ships contrib, and only a superuser
# may create it: without it, maintenance says so and skips rebuilding indexes.
CREATE_PGSTATTUPLE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgstattuple') THEN
        CREATE EXTENSION IF NOT EXISTS pgstattuple;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pgstattuple not created (%): maintenance will not rebuild bloated indexes', SQLERRM;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_rules_as_functions"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0001_initial"),
        ("loyalty", "0007_rules_as_functions"),
        ("merchants", "0001_initial"),
        ("system", "0005_scan_failure_indexes"),
        ("transactions", "0005_rules_as_functions"),
    ]
    operations = [
        install(
            "system",
            "delete_archived_rows",
            1,
            reverse="DROP FUNCTION delete_archived_rows(text,text[],interval,text);",
        ),
        install("system", "qr_scan_logs_no_delete", 1, reverse="DROP TRIGGER qr_scan_logs_no_delete ON qr_scan_logs;"),
        # Backwards the extension stays: another part may use it, and it holds no data.
        migrations.RunSQL(CREATE_PGSTATTUPLE, migrations.RunSQL.noop),
    ]
