"""The triggers write merchant_id: the ledger's trigger (apply_points_change) on each ledger row and the lot it
opens, from the account it already reads (a row naming another merchant is refused); the lots' backfill
(create_missing_points_lots) on its lots; loyalty_tiers_set_merchant on each tier, from its program. The lots'
guard keeps a lot's merchant."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0017_merchant_on_ledger_lots_tiers"),
        ("merchants", "0002_merchant_require_2fa"),
        ("system", "0015_database_roles"),
        ("transactions", "0010_merged_lots_follow_the_sale"),
    ]
    operations = [
        install("loyalty", "loyalty_tier_merchant", 1, reverse="DROP FUNCTION loyalty_tier_merchant();"),
        install("loyalty", "apply_points_change", 6, reverse=5),
        install("loyalty", "create_missing_points_lots", 3, reverse=2),
        install("loyalty", "guard_points_lots", 2, reverse=1),
        install(
            "loyalty",
            "loyalty_tiers_set_merchant",
            1,
            reverse="DROP TRIGGER loyalty_tiers_set_merchant ON loyalty_tiers;",
        ),
    ]
