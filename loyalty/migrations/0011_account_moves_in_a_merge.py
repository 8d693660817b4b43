"""guard_account_points: an account moves to another customer, and its spend figures change, only in the merge
of two customers in progress (merge_customers())."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0002_privacy"),
        ("loyalty", "0010_privacy"),
        ("merchants", "0001_initial"),
        ("system", "0012_privacy_settings"),
        ("transactions", "0008_merge_customers"),
    ]
    operations = [
        install("loyalty", "guard_account_points", 2, reverse=1),
    ]
