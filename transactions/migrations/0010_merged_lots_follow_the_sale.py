"""merge_customers() moves each open lot by a merge_lot row naming it; a refund of a moved sale takes back from
that lot first and writes off what of it expired (check_transaction_change())."""

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
        ("transactions", "0009_merge_moves_points_totals"),
    ]
    operations = [
        install("transactions", "check_transaction_change", 5, reverse=4),
        install("transactions", "merge_customers", 3, reverse=2),
    ]
