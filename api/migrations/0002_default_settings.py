"""The API's settings, with their defaults, so admins see and can change them."""

from django.db import migrations

SETTINGS = {
    "api.rate_limit_requests": ("120", "Requests one API key may make per window; more are answered 429."),
    "api.rate_limit_window_seconds": ("60", "The window of api.rate_limit_requests."),
    "api.idempotency_hours": ("24", "How long the API keeps the response of a write for its retries (24 at least)."),
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
    dependencies = [("api", "0001_initial"), ("system", "0004_default_settings")]
    operations = [migrations.RunPython(add, remove)]
