"""The background jobs of this app: procrastinate imports each app's `tasks` module at start."""

from system.mail import send_email  # noqa: F401
from system.sms import send_sms  # noqa: F401
