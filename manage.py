#!/usr/bin/env python
import os
import sys

# The commands that change the schema connect as the database's owner role; every other one as the runtime role
# (LOYALTY_DB_ROLE in loyalty_site/settings/base.py).
OWNER_COMMANDS = {"migrate", "seed_demo", "load_archive", "sqlmigration", "flush", "createcachetable"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings.development")
    if len(sys.argv) > 1 and sys.argv[1] in OWNER_COMMANDS:
        os.environ.setdefault("LOYALTY_DB_ROLE", "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
