"""Merging two customers who are the same person: merge_customers() moves one's sales, visits and points to
the other (at one merchant or everywhere), recorded in customer_merges (audited); customer_merge_moves() and
customer_merge_touches() let the guards of sales (check_transaction_change) and customer totals
(keep_customer_totals) allow that merge's moves only; a sale no longer completes for a merged customer."""

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
        ("transactions", "0007_customer_merges"),
    ]
    operations = [
        install(
            "transactions", "customer_merge_moves", 1, reverse="DROP FUNCTION customer_merge_moves(uuid,uuid,uuid);"
        ),
        install("transactions", "customer_merge_touches", 1, reverse="DROP FUNCTION customer_merge_touches(uuid);"),
        install("transactions", "merge_customers", 1, reverse="DROP FUNCTION merge_customers(uuid,uuid,uuid);"),
        install("transactions", "check_transaction_change", 4, reverse=3),
        install("transactions", "keep_customer_totals", 2, reverse=1),
        install(
            "transactions", "customer_merges_audit", 1, reverse="DROP TRIGGER customer_merges_audit ON customer_merges;"
        ),
    ]
