"""merchant_id on the line items (docs/scale-out.md), from their sale, required; the sale is named together with
its merchant: a unique key transactions (merchant_id, id) and the foreign key (merchant_id, transaction_id) ->
transactions (merchant_id, id) in place of the one on transaction_id alone, so an item cannot name another
merchant than its sale's. Django cannot declare a foreign key of two columns: the model's field keeps
db_constraint=False and this migration holds the constraint."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE transaction_items i SET merchant_id = t.merchant_id
  FROM transactions t WHERE t.id = i.transaction_id AND i.merchant_id IS NULL;
"""

SALE_FOREIGN_KEY = """
ALTER TABLE transaction_items ADD CONSTRAINT transaction_items_merchant_transaction_fk
    FOREIGN KEY (merchant_id, transaction_id) REFERENCES transactions (merchant_id, id)
    DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_merchant_require_2fa"),
        ("transactions", "0010_merged_lots_follow_the_sale"),
    ]

    operations = [
        migrations.AddField(
            model_name="transactionitem",
            name="merchant",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="merchants.merchant",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="transactionitem",
            name="merchant",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
            ),
        ),
        migrations.AddConstraint(
            model_name="transaction",
            constraint=models.UniqueConstraint(fields=("merchant", "id"), name="transactions_merchant_id_key"),
        ),
        migrations.AlterField(
            model_name="transactionitem",
            name="transaction",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="transactions.transaction",
            ),
        ),
        migrations.RunSQL(
            SALE_FOREIGN_KEY,
            reverse_sql="ALTER TABLE transaction_items DROP CONSTRAINT transaction_items_merchant_transaction_fk;",
        ),
    ]
