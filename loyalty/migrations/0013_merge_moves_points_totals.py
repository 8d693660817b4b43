"""A merge moves the source account's earned and redeemed totals: merge_earned and merge_redeemed rows
(counted by ledger_points_earned and ledger_points_redeemed, written only in a merge, lots of their own first)."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0011_account_moves_in_a_merge"),
        ("merchants", "0001_initial"),
        ("system", "0014_audit_redaction"),
        ("transactions", "0008_merge_customers"),
    ]
    operations = [
        install("loyalty", "apply_points_change", 4, reverse=3),
        install("loyalty", "ledger_points_earned", 2, reverse=1),
        install("loyalty", "ledger_points_redeemed", 2, reverse=1),
    ]
