"""Points redeemed in the daily figures are counted by ledger_points_redeemed()."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_hourly"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0001_initial"),
        ("loyalty", "0007_rules_as_functions"),
        ("merchants", "0001_initial"),
        ("system", "0005_scan_failure_indexes"),
        ("transactions", "0005_rules_as_functions"),
    ]
    operations = [
        install("analytics", "rebuild_merchant_daily_analytics", 3, reverse=2),
    ]
