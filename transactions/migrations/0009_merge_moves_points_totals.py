"""merge_customers() moves the source account's earned and redeemed totals with its points, where the target
has an account at the merchant: a refund of a moved sale stays within the target's totals."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0013_merge_moves_points_totals"),
        ("merchants", "0001_initial"),
        ("system", "0014_audit_redaction"),
        ("transactions", "0008_merge_customers"),
    ]
    operations = [
        install("transactions", "merge_customers", 2, reverse=1),
    ]
