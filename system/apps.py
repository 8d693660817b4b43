from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "system"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_migrate

        from system import checks  # noqa: F401  (registers the database checks)
        from system.db_roles import grant_after_migrate

        post_migrate.connect(grant_after_migrate, sender=self)
