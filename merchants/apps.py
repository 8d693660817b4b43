from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from merchants import login_throttle, sessions

        user_logged_in.connect(sessions.session_started, dispatch_uid="merchants.session_started")
        user_logged_in.connect(login_throttle.login_succeeded, dispatch_uid="merchants.login_succeeded")
        user_login_failed.connect(login_throttle.login_failed, dispatch_uid="merchants.login_failed")
