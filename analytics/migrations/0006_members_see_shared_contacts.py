"""Install the frozen versions of: customer_summary."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_rules_as_functions"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0002_privacy"),
        ("loyalty", "0010_privacy"),
        ("merchants", "0001_initial"),
        ("system", "0009_audit_logs_by_merchant"),
        ("transactions", "0006_scan_pause_lifts"),
    ]
    operations = [
        install("analytics", "customer_summary", 2, reverse=1),
    ]
