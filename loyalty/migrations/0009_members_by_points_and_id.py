"""The customers list's first page read from an index in order: a merchant's accounts by points, ties by id.
The new index is built, and the old one dropped, concurrently, so sales go on meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("loyalty", "0008_expire_points_at_local_midnight")]

    operations = [
        AddIndexConcurrently(
            model_name="customerloyaltyaccount",
            index=models.Index(fields=["merchant", "-current_points", "id"], name="cla_merchant_points_id_idx"),
        ),
        RemoveIndexConcurrently(model_name="customerloyaltyaccount", name="cla_merchant_points_idx"),
    ]
