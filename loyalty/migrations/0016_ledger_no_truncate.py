"""The ledger's BEFORE TRUNCATE guard (forbid_truncate): points_transactions is never emptied."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0015_merged_lots_follow_the_sale"),
        ("merchants", "0001_initial"),
        ("system", "0015_database_roles"),
        ("transactions", "0010_merged_lots_follow_the_sale"),
    ]
    operations = [
        install(
            "loyalty",
            "points_transactions_no_truncate",
            1,
            reverse="DROP TRIGGER points_transactions_no_truncate ON points_transactions;",
        ),
    ]
