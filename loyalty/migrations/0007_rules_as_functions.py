"""Each rule of points once, as a SQL function the triggers, rebuilds, checks and demo loader call:
which ledger rows count as earned and as redeemed, a sale's points, the redemption discount and its
limit, a lot's expiry. The ledger's trigger, the lots' backfill and the 12-month points use them;
create_missing_points_lots() takes the notice its lots get (30 days, or none for a load of history)."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_hourly"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0001_initial"),
        ("loyalty", "0006_account_standing_function"),
        ("merchants", "0001_initial"),
        ("system", "0005_scan_failure_indexes"),
        ("transactions", "0004_points_rules"),
    ]
    operations = [
        install(
            "loyalty",
            "ledger_points_earned",
            1,
            reverse="DROP FUNCTION ledger_points_earned(text, integer);",
        ),
        install(
            "loyalty",
            "ledger_points_redeemed",
            1,
            reverse="DROP FUNCTION ledger_points_redeemed(text, integer);",
        ),
        install(
            "loyalty",
            "loyalty_lot_expiry",
            1,
            reverse="DROP FUNCTION loyalty_lot_expiry(integer, timestamptz);",
        ),
        install(
            "loyalty",
            "loyalty_redemption_discount",
            1,
            reverse="DROP FUNCTION loyalty_redemption_discount(loyalty_programs, integer);",
        ),
        install(
            "loyalty",
            "loyalty_redemption_limit",
            1,
            reverse="DROP FUNCTION loyalty_redemption_limit(loyalty_programs, numeric);",
        ),
        install(
            "loyalty",
            "loyalty_sale_points",
            1,
            reverse="DROP FUNCTION loyalty_sale_points(loyalty_programs, numeric, numeric, numeric);",
        ),
        install("loyalty", "apply_points_change", 3, reverse=2),
        # A new argument, the notice its lots get: the function without it goes first, and comes back last.
        migrations.RunSQL(
            "DROP FUNCTION create_missing_points_lots();", "DROP FUNCTION create_missing_points_lots(interval);"
        ),
        install("loyalty", "create_missing_points_lots", 2, reverse=1),
        install("loyalty", "loyalty_points_last_year", 2, reverse=1),
    ]
