"""audit_logs' action may be REDACT (redact_customer_logs), and two partial indexes of the scan logs: the scans
that resolved to no customer by code (the redaction finds a customer's code among them) and the scans still
holding an address or a browser by time (the retention job reads only those).

Non-atomic, for a table of millions: the wider CHECK is added NOT VALID (a moment's lock) and validated after
(reading the rows without holding writers back), and the indexes are built concurrently."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


def check(actions: list[str]) -> list[str]:
    values = ", ".join(f"'{a}'" for a in actions)
    return [
        "ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_action_valid, "
        f'ADD CONSTRAINT audit_logs_action_valid CHECK ("action" IN ({values})) NOT VALID',
        "ALTER TABLE audit_logs VALIDATE CONSTRAINT audit_logs_action_valid",
    ]


OLD, NEW = ["INSERT", "UPDATE", "DELETE"], ["INSERT", "UPDATE", "DELETE", "REDACT"]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("system", "0012_privacy_settings")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(check(NEW), check(OLD))],
            state_operations=[
                migrations.RemoveConstraint(model_name="auditlog", name="audit_logs_action_valid"),
                migrations.AlterField(
                    model_name="auditlog",
                    name="action",
                    field=models.CharField(
                        choices=[
                            ("INSERT", "Insert"),
                            ("UPDATE", "Update"),
                            ("DELETE", "Delete"),
                            ("REDACT", "Redact"),
                        ],
                        max_length=8,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="auditlog",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("action__in", NEW)),
                        name="audit_logs_action_valid",
                        violation_error_message="action must be one of: INSERT, UPDATE, DELETE, REDACT.",
                    ),
                ),
            ],
        ),
        AddIndexConcurrently(
            model_name="qrscanlog",
            index=models.Index(
                condition=models.Q(customer__isnull=True), fields=["scanned_code"], name="qr_scan_logs_no_customer_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="qrscanlog",
            index=models.Index(
                condition=models.Q(ip_address__isnull=False) | ~models.Q(user_agent=""),
                fields=["created_at"],
                name="qr_scan_logs_identifies_idx",
            ),
        ),
    ]
