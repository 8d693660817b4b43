"""The lifts of a counter's scan pause (scan_pause_lifts), each recorded in audit_logs."""

import uuid

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

import system.db
from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
        ("transactions", "0005_rules_as_functions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ScanPauseLift",
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
                    "ip_address",
                    models.GenericIPAddressField(
                        blank=True, help_text="The address whose pause was lifted.", null=True
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
                (
                    "lifted_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "scanned_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The user whose pause was lifted.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "scan_pause_lifts",
                "indexes": [
                    models.Index(fields=["merchant", "scanned_by", "-created_at"], name="spl_user_idx"),
                    models.Index(fields=["merchant", "ip_address", "-created_at"], name="spl_address_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("scanned_by__isnull", False), ("ip_address__isnull", False), _connector="OR"
                        ),
                        name="scan_pause_lifts_user_or_address",
                        violation_error_message="A lift names the user or the address whose pause it lifts.",
                    )
                ],
            },
        ),
        install(
            "transactions",
            "scan_pause_lifts_audit",
            1,
            reverse="DROP TRIGGER scan_pause_lifts_audit ON scan_pause_lifts;",
        ),
    ]
