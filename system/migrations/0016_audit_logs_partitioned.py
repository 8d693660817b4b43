"""audit_logs becomes RANGE-partitioned by month on created_at, with its rows: the old table is renamed, the
partitioned one made under the same name with the same columns, constraint and index names (its primary key
becomes (id, created_at): a partitioned table's unique keys hold the partition key), its month partitions from the
oldest row's month to three months ahead and a default one made by create_log_partitions (new), the rows copied,
the old table dropped and the guards installed again. Django's model keeps id as its primary key. Maintenance
drops a whole archived month through drop_archived_partition (new). Backwards: a plain table with the rows again."""

from django.db import migrations

from system import db_roles
from system.sqlfiles import frozen, install

ACTIONS = "'INSERT'::character varying, 'UPDATE'::character varying, 'DELETE'::character varying, 'REDACT'"
COLUMNS = "id, table_name, record_id, action, old_values, new_values, changed_fields, created_at, user_id"


def table(*, partitioned: bool) -> str:
    key = "id, created_at" if partitioned else "id"
    return f"""
CREATE TABLE audit_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    table_name varchar(63) NOT NULL,
    record_id uuid NOT NULL,
    action varchar(8) NOT NULL,
    old_values jsonb,
    new_values jsonb,
    changed_fields jsonb,
    created_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    user_id uuid,
    CONSTRAINT audit_logs_pkey PRIMARY KEY ({key}),
    CONSTRAINT audit_logs_action_valid CHECK (action::text = ANY (ARRAY[{ACTIONS}::character varying]::text[]))
){" PARTITION BY RANGE (created_at)" if partitioned else ""};
"""


INDEXES = """
CREATE INDEX audit_logs_record_idx ON audit_logs (table_name, record_id, created_at DESC);
CREATE INDEX audit_logs_created_idx ON audit_logs (created_at DESC);
CREATE INDEX audit_logs_merchant_idx ON audit_logs
    (audit_merchant_id(table_name::text, record_id, new_values, old_values), created_at DESC);
CREATE INDEX audit_logs_user_id_752b0e2b ON audit_logs (user_id);
"""


def aside(suffix: str) -> str:
    """The table and its index names moved aside, freeing the names; its triggers dropped."""
    return f"""
LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE;
ALTER TABLE audit_logs RENAME TO audit_logs_{suffix};
ALTER INDEX audit_logs_pkey RENAME TO audit_logs_{suffix}_pkey;
ALTER INDEX audit_logs_record_idx RENAME TO audit_logs_{suffix}_record_idx;
ALTER INDEX audit_logs_created_idx RENAME TO audit_logs_{suffix}_created_idx;
ALTER INDEX audit_logs_merchant_idx RENAME TO audit_logs_{suffix}_merchant_idx;
ALTER INDEX audit_logs_user_id_752b0e2b RENAME TO audit_logs_{suffix}_user_idx;
DROP TRIGGER audit_logs_append_only ON audit_logs_{suffix};
DROP TRIGGER audit_logs_no_truncate ON audit_logs_{suffix};
"""


# PostgreSQL 18 names NOT NULL constraints, and gave the new table's "<name>1" while the old one held the names.
NOT_NULL_NAMES = r"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'audit_logs'::regclass AND contype = 'n' AND conname ~ '_not_null\d+$' LOOP
        EXECUTE format('ALTER TABLE audit_logs RENAME CONSTRAINT %I TO %I', r.conname,
                       regexp_replace(r.conname, '\d+$', ''));
    END LOOP;
END $$;
"""


FORWARDS = f"""
{aside("plain")}
{table(partitioned=True)}
{INDEXES}
SELECT create_log_partitions('audit_logs',
    (SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM audit_logs_plain), 3);
INSERT INTO audit_logs ({COLUMNS}) SELECT {COLUMNS} FROM audit_logs_plain;
DROP TABLE audit_logs_plain;
{NOT_NULL_NAMES}
ANALYZE audit_logs;
"""

BACKWARDS = f"""
{aside("parted")}
{table(partitioned=False)}
INSERT INTO audit_logs ({COLUMNS}) SELECT {COLUMNS} FROM audit_logs_parted;
{INDEXES}
DROP TABLE audit_logs_parted;
{NOT_NULL_NAMES}
ANALYZE audit_logs;
"""

TRIGGERS = frozen("system", "audit_logs_append_only", 2) + frozen("system", "audit_logs_no_truncate", 1)


def grant_runtime_privileges(apps, schema_editor):
    """The tables made again get the runtime role's privileges (system/db_roles.py) now, not at post_migrate,
    which a migration run by MigrationExecutor (the migration tests) never sends."""
    db_roles.grant_runtime_privileges(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("system", "0015_database_roles")]
    operations = [
        migrations.RunPython(migrations.RunPython.noop, grant_runtime_privileges),  # backwards: last
        install(
            "system", "create_log_partitions", 1, reverse="DROP FUNCTION create_log_partitions(text, date, integer);"
        ),
        migrations.RunSQL(FORWARDS + TRIGGERS, BACKWARDS + TRIGGERS),
        install("system", "audit_log_kept", 1, reverse="DROP FUNCTION audit_log_kept(text);"),
        install(
            "system",
            "drop_archived_partition",
            1,
            reverse="DROP FUNCTION drop_archived_partition(text, text, interval, text, bigint);",
        ),
        migrations.RunPython(grant_runtime_privileges, migrations.RunPython.noop),
    ]
