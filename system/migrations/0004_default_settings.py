"""The settings the counter reads, with their defaults, so admins see and can change them."""

from django.db import migrations

SETTINGS = {
    "scan.max_failures": ("5", "Failed scans from one user or address within the window before scanning pauses."),
    "scan.failure_window_minutes": ("5", "The window in which failed scans are counted."),
    "scan.block_minutes": ("10", "How long scanning pauses after too many failed scans."),
    "card.token_max_age_seconds": ("180", "How long the QR code shown on a customer's card page is accepted."),
    "fraud.max_sales": (
        "5",
        "More completed sales than this by one customer at one merchant within the window raise a flag.",
    ),
    "fraud.window_minutes": ("10", "The window of fraud.max_sales."),
    "scan.checkout_minutes": ("10", "How long after a scan its sale can be completed."),
}


def add(apps, schema_editor):
    SystemSetting = apps.get_model("system", "SystemSetting")
    for key, (value, description) in SETTINGS.items():
        SystemSetting.objects.get_or_create(
            setting_key=key, defaults={"setting_value": value, "value_type": "integer", "description": description}
        )


def remove(apps, schema_editor):
    apps.get_model("system", "SystemSetting").objects.filter(setting_key__in=SETTINGS).delete()


class Migration(migrations.Migration):
    dependencies = [("system", "0003_audit_and_timestamps")]
    operations = [migrations.RunPython(add, remove)]
