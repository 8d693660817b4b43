"""Development (`make run`, manage.py's default): DEBUG on, a development-only key, loopback hosts."""

from .base import *  # noqa: F403
from .base import env

DEBUG = True
# Anyone who knows this key can forge card QR tokens and sessions: the production profile refuses to start
# without a real one.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key")
