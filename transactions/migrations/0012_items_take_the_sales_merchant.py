"""A line item written without merchant_id takes its sale's (transaction_items_set_merchant, only for such
rows: a writer that names it, as the checkout does, pays no lookup), so raw SQL and ORM writers of items that
predate the column keep working."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0019_merchant_required"),
        ("merchants", "0002_merchant_require_2fa"),
        ("system", "0015_database_roles"),
        ("transactions", "0011_merchant_on_line_items"),
    ]
    operations = [
        install("transactions", "transaction_item_merchant", 1, reverse="DROP FUNCTION transaction_item_merchant();"),
        install(
            "transactions",
            "transaction_items_set_merchant",
            1,
            reverse="DROP TRIGGER transaction_items_set_merchant ON transaction_items;",
        ),
    ]
