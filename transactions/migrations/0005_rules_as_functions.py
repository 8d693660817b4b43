"""A sale's redemption discount, its limit and its points come from the loyalty rule functions."""

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
        ("transactions", "0004_points_rules"),
    ]
    operations = [
        install("transactions", "check_transaction_change", 3, reverse=2),
    ]
