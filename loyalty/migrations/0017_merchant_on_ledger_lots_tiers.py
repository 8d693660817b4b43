"""merchant_id on the ledger, its lots and the tiers (docs/scale-out.md), empty for now: the next migration has
the triggers fill it, the one after fills the older rows and makes it required."""

import django.db.models.deletion
from django.db import migrations, models


def merchant_field():
    return models.ForeignKey(
        db_index=False,
        editable=False,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="merchants.merchant",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0016_ledger_no_truncate"),
        ("merchants", "0002_merchant_require_2fa"),
    ]

    operations = [
        migrations.AddField(model_name="pointstransaction", name="merchant", field=merchant_field()),
        migrations.AddField(model_name="pointslot", name="merchant", field=merchant_field()),
        migrations.AddField(model_name="loyaltytier", name="merchant", field=merchant_field()),
    ]
