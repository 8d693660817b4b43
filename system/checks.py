"""The PostgreSQL versions the product supports: 16, 17 and 18 (migrate runs this check)."""

from django.core.checks import Error, Tags, Warning, register
from django.db import connections

OLDEST, NEWEST = 16, 18


@register(Tags.database)
def postgresql_version(app_configs, databases=None, **kwargs):
    messages = []
    for alias in databases or []:
        major = connections[alias].pg_version // 10000
        if major < OLDEST:
            messages.append(
                Error(
                    f"PostgreSQL {major} is too old for Loyalty: it needs {OLDEST} to {NEWEST}.",
                    hint="Upgrade the server, or unset DATABASE_URL to use the embedded PostgreSQL 18.",
                    id="system.E001",
                )
            )
        elif major > NEWEST:
            messages.append(
                Warning(f"PostgreSQL {major} is newer than Loyalty is tested with ({NEWEST}).", id="system.W001")
            )
    return messages
