"""merchant_id of the older ledger rows, lots and tiers, from their account or program; then required, and the
ledger's two partial unique keys lead with it (docs/scale-out.md: a unique key contains the distribution
column). The backfill runs with the tables' own triggers off: the ledger is append-only, and filling a column
the triggers now write is no change to audit."""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("points_transactions", "points_lots", "loyalty_tiers")

BACKFILL = (
    "SET CONSTRAINTS ALL IMMEDIATE;"  # checked row by row now, so the ALTERs below find no pending checks
    + "".join(f"ALTER TABLE {table} DISABLE TRIGGER USER;" for table in TABLES)
    + """
UPDATE points_transactions p SET merchant_id = a.merchant_id
  FROM customer_loyalty_accounts a WHERE a.id = p.customer_loyalty_account_id AND p.merchant_id IS NULL;
UPDATE points_lots l SET merchant_id = a.merchant_id
  FROM customer_loyalty_accounts a WHERE a.id = l.customer_loyalty_account_id AND l.merchant_id IS NULL;
UPDATE loyalty_tiers t SET merchant_id = p.merchant_id
  FROM loyalty_programs p WHERE p.id = t.program_id AND t.merchant_id IS NULL;
"""
    + "".join(f"ALTER TABLE {table} ENABLE TRIGGER USER;" for table in TABLES)
)


def merchant_field():
    return models.ForeignKey(
        db_index=False,
        editable=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="merchants.merchant",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0018_ledger_lots_tiers_take_the_merchant"),
    ]

    operations = [
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(model_name="pointstransaction", name="merchant", field=merchant_field()),
        migrations.AlterField(model_name="pointslot", name="merchant", field=merchant_field()),
        migrations.AlterField(model_name="loyaltytier", name="merchant", field=merchant_field()),
        migrations.RemoveConstraint(
            model_name="pointstransaction", name="points_transactions_one_earn_per_transaction"
        ),
        migrations.RemoveConstraint(model_name="pointstransaction", name="points_transactions_one_expiry_per_lot"),
        migrations.AddConstraint(
            model_name="pointstransaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(transaction_type="earn"),
                fields=("merchant", "transaction"),
                name="points_transactions_one_earn_per_transaction",
            ),
        ),
        migrations.AddConstraint(
            model_name="pointstransaction",
            constraint=models.UniqueConstraint(
                condition=models.Q(transaction_type="expire"),
                fields=("merchant", "lot"),
                name="points_transactions_one_expiry_per_lot",
            ),
        ),
    ]
