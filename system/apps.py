from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "system"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from system import checks  # noqa: F401  (registers the database checks)
