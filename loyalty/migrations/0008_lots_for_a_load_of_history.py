"""create_missing_points_lots() takes the notice its lots get (30 days by default; NULL for none, as
seed_demo loads history with)."""

from django.db import migrations

from system.sqlfiles import install


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
        # A new argument: the function without it goes first (and comes back last, going backwards).
        migrations.RunSQL(
            "DROP FUNCTION create_missing_points_lots();", "DROP FUNCTION create_missing_points_lots(interval);"
        ),
        install("loyalty", "create_missing_points_lots", 3, reverse=2),
    ]
