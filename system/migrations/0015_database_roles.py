"""Least-privilege roles: a BEFORE TRUNCATE guard (forbid_truncate) on the append-only logs audit_logs and
qr_scan_logs, and delete_archived_rows becomes SECURITY DEFINER (it runs as the logs' owner, which may turn
their triggers off; the runtime role calling it may not). The runtime role's grants: system/db_roles.py."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0015_merged_lots_follow_the_sale"),
        ("merchants", "0001_initial"),
        ("system", "0014_audit_redaction"),
        ("transactions", "0010_merged_lots_follow_the_sale"),
    ]
    operations = [
        install("system", "forbid_truncate", 1, reverse="DROP FUNCTION forbid_truncate();"),
        install("system", "delete_archived_rows", 2, reverse=1),
        install("system", "audit_logs_no_truncate", 1, reverse="DROP TRIGGER audit_logs_no_truncate ON audit_logs;"),
        install(
            "system", "qr_scan_logs_no_truncate", 1, reverse="DROP TRIGGER qr_scan_logs_no_truncate ON qr_scan_logs;"
        ),
    ]
