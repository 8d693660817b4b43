"""An index of the scan logs by time: the admin's list newest first, and the old rows maintenance archives.
Built concurrently, so the counter keeps logging scans while it is made."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("system", "0006_archiving")]

    operations = [
        AddIndexConcurrently(
            model_name="qrscanlog",
            index=models.Index(fields=["-created_at"], name="qr_scan_logs_created_idx"),
        ),
    ]
