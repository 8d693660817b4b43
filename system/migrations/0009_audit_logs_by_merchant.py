"""The audit log by merchant: audit_merchant_id() (the merchant a row belongs to) and an index on it, newest
first, built concurrently so sales go on meanwhile."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from system.sqlfiles import install


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("system", "0008_outgoing_emails")]

    operations = [
        install("system", "audit_merchant_id", 1, reverse="DROP FUNCTION audit_merchant_id(text,uuid,jsonb,jsonb);"),
        AddIndexConcurrently(
            model_name="auditlog",
            index=models.Index(
                models.Func(
                    *[models.F(name) for name in ("table_name", "record_id", "new_values", "old_values")],
                    function="audit_merchant_id",
                    output_field=models.UUIDField(),
                ),
                models.F("created_at").desc(),
                name="audit_logs_merchant_idx",
            ),
        ),
    ]
