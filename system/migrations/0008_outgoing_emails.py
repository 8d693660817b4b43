"""The mail outbox (system.mail): each queued email's message, which its job names by id only, deleted once
sent. No audit trigger: the bodies hold password-reset, set-password and card links."""

import uuid

import django.contrib.postgres.fields
import django.db.models.functions.datetime
from django.db import migrations, models

import system.db


class Migration(migrations.Migration):
    dependencies = [("system", "0007_scan_logs_by_time")]

    operations = [
        migrations.CreateModel(
            name="OutgoingEmail",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        db_default=system.db.GenRandomUUID(),
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "to",
                    django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=254), size=None),
                ),
                ("subject", models.TextField()),
                ("body", models.TextField()),
                ("html_body", models.TextField(blank=True, db_default="", default="")),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
            ],
            options={"db_table": "outgoing_emails"},
        ),
    ]
