from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`seed_demo`): the top layer, free to reach into every app."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
