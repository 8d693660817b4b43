"""The tests (pytest.ini): a fixed key, fast password hashing, mail kept in memory.

They connect as the owner role: pytest-django creates the test database and migrates it, and the transactional
tests empty the tables with TRUNCATE, which the append-only tables' guard lets through only in a test database
and only with loyalty.allow_truncate on (system/sql/forbid_truncate.sql). The runtime role's refusals are tested
by switching to it (SET ROLE) inside a test (loyalty_site/tests/test_database_roles.py).
"""

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = "test-only-insecure-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if "ROLE" in DATABASES["default"]:
    DATABASES["default"]["ROLE"] = "owner"
elif env("DATABASE_OWNER_URL", default=""):
    DATABASES["default"].update(
        {key: value for key, value in env.db_url_config(env("DATABASE_OWNER_URL")).items() if key != "NAME"}
    )
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c loyalty.allow_truncate=on"
# No replica in the ordinary tests; loyalty_site/tests/test_replica.py starts a real one and adds it.
DATABASES.pop("replica", None)
