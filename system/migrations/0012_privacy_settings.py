"""The privacy settings (rate limits of joining and recovery, one-time codes, scan log retention, short card
codes), with their defaults, so admins see and can change them."""

from django.db import migrations

SETTINGS = {
    "privacy.join_per_address_per_hour": ("20", "Join or recovery attempts from one network address per hour."),
    "privacy.join_per_contact_per_hour": (
        "5",
        "Join or recovery attempts for one email address or phone number per hour.",
    ),
    "privacy.join_per_merchant_per_hour": ("200", "Join or recovery attempts at one merchant per hour."),
    "privacy.otp_attempts": ("5", "Wrong entries of a one-time code before the code is void."),
    "privacy.scan_log_days": (
        "90",
        "Days a scan log keeps the network address and browser of the scan; then they are erased.",
    ),
    "privacy.card_code_minutes": ("5", "How long a short card code, typed at the counter, is accepted."),
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
    dependencies = [("system", "0011_rate_limit_hits")]
    operations = [migrations.RunPython(add, remove)]
