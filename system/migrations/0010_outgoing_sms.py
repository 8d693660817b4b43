"""The text message outbox (system.sms): each queued SMS, which its job names by id only, deleted once sent.
No audit trigger: the bodies hold one-time codes."""

import uuid

import django.db.models.functions.datetime
from django.db import migrations, models

import system.db


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0009_audit_logs_by_merchant"),
    ]

    operations = [
        migrations.CreateModel(
            name="OutgoingSMS",
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
                ("to", models.CharField(help_text="E.164: + and up to 15 digits.", max_length=20)),
                ("body", models.TextField()),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
            ],
            options={
                "verbose_name": "outgoing SMS",
                "verbose_name_plural": "outgoing SMS",
                "db_table": "outgoing_sms",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("to__regex", "^\\+[1-9][0-9]{1,14}$")),
                        name="outgoing_sms_to_e164",
                        violation_error_message="The number is not in E.164 form (+ and up to 15 digits).",
                    )
                ],
            },
        ),
    ]
