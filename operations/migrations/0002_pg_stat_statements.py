"""pg_stat_statements in this database, when the server has it (pg_available_extensions) and the
migrating role may create it (a superuser); otherwise a notice, and the Database page says what to
do. Its statistics need it in shared_preload_libraries too, as the embedded server has it."""

from django.db import migrations

CREATE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    ELSE
        RAISE NOTICE 'pg_stat_statements is not installed on this server: the Database page says what to do';
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_stat_statements not created (%): a superuser may run CREATE EXTENSION pg_stat_statements', SQLERRM;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("operations", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, "DROP EXTENSION IF EXISTS pg_stat_statements")]
