"""qr_scan_logs becomes RANGE-partitioned by month on created_at, with its rows, the way audit_logs did (0016):
same columns, foreign keys, constraint and index names, primary key (id, created_at). Its unique sale_id cannot
stay (a unique key of a partitioned table holds the partition key): qr_scan_sales, filled from the scans that
took a sale and kept by the trigger qr_scan_logs_one_per_sale, keeps one scan per sale, and sale_id gets a plain
index. Django's model: sale becomes a ForeignKey with that index. forbid_change names the partitioned table, not
the partition a refused row is in. Backwards: a plain table with the rows again
and its unique sale_id."""

import django.db.models.deletion
from django.db import migrations, models

from system import db_roles
from system.sqlfiles import frozen, install

RESULTS = ", ".join(
    f"'{r}'::character varying"
    for r in (
        "success",
        "malformed",
        "unknown_code",
        "bad_check_character",
        "inactive_customer",
        "expired_token",
        "forged_token",
        "static_code_refused",
        "rate_limited",
    )
)
COLUMNS = (
    "id, scanned_code, scan_result, ip_address, user_agent, created_at, customer_id, merchant_id, sale_id, "
    "scanned_by_id"
)
FAILED = (
    "(NOT ((scan_result)::text = ANY ((ARRAY['success'::character varying, "
    "'rate_limited'::character varying])::text[])))"
)


def table(*, partitioned: bool) -> str:
    key = "id, created_at" if partitioned else "id"
    unique_sale = "" if partitioned else "CONSTRAINT qr_scan_logs_sale_id_key UNIQUE (sale_id),"
    return f"""
CREATE TABLE qr_scan_logs (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    scanned_code varchar(512) NOT NULL,
    scan_result varchar(32) NOT NULL,
    ip_address inet,
    user_agent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    customer_id uuid,
    merchant_id uuid NOT NULL,
    sale_id uuid,
    scanned_by_id uuid,
    CONSTRAINT qr_scan_logs_pkey PRIMARY KEY ({key}),
    {unique_sale}
    CONSTRAINT qr_scan_logs_scan_result_valid CHECK (scan_result::text = ANY (ARRAY[{RESULTS}]::text[])),
    CONSTRAINT qr_scan_logs_customer_id_7816d272_fk_customers_id FOREIGN KEY (customer_id)
        REFERENCES customers(id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT qr_scan_logs_merchant_id_1041658c_fk_merchants_id FOREIGN KEY (merchant_id)
        REFERENCES merchants(id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT qr_scan_logs_sale_id_3e19b3f9_fk_transactions_id FOREIGN KEY (sale_id)
        REFERENCES transactions(id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT qr_scan_logs_scanned_by_id_0c844a7c_fk_users_id FOREIGN KEY (scanned_by_id)
        REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED
){" PARTITION BY RANGE (created_at)" if partitioned else ""};
"""


INDEXES = f"""
CREATE INDEX qr_scan_logs_scanned_by_id_0c844a7c ON qr_scan_logs (scanned_by_id);
CREATE INDEX qr_scan_logs_merchant_idx ON qr_scan_logs (merchant_id, created_at DESC);
CREATE INDEX qr_scan_logs_customer_idx ON qr_scan_logs (customer_id, created_at DESC);
CREATE INDEX qr_scan_logs_ip_idx ON qr_scan_logs (ip_address, created_at DESC);
CREATE INDEX qr_scan_logs_user_failures_idx ON qr_scan_logs (merchant_id, scanned_by_id, created_at) WHERE {FAILED};
CREATE INDEX qr_scan_logs_ip_failures_idx ON qr_scan_logs (merchant_id, ip_address, created_at) WHERE {FAILED};
CREATE INDEX qr_scan_logs_created_idx ON qr_scan_logs (created_at DESC);
CREATE INDEX qr_scan_logs_no_customer_idx ON qr_scan_logs (scanned_code) WHERE (customer_id IS NULL);
CREATE INDEX qr_scan_logs_identifies_idx ON qr_scan_logs (created_at)
    WHERE ((ip_address IS NOT NULL) OR (NOT (user_agent = ''::text)));
"""
INDEX_NAMES = [
    "pkey",
    "scanned_by_id_0c844a7c",
    "merchant_idx",
    "customer_idx",
    "ip_idx",
    "user_failures_idx",
    "ip_failures_idx",
    "created_idx",
    "no_customer_idx",
    "identifies_idx",
]


def aside(suffix: str, indexes: list[str]) -> str:
    """The table and its index names moved aside, freeing the names; its triggers dropped."""
    renames = "".join(f"ALTER INDEX qr_scan_logs_{name} RENAME TO qr_scan_logs_{suffix}_{name};\n" for name in indexes)
    return f"""
LOCK TABLE qr_scan_logs IN ACCESS EXCLUSIVE MODE;
ALTER TABLE qr_scan_logs RENAME TO qr_scan_logs_{suffix};
{renames}
DROP TRIGGER qr_scan_logs_no_delete ON qr_scan_logs_{suffix};
DROP TRIGGER qr_scan_logs_no_truncate ON qr_scan_logs_{suffix};
"""


# PostgreSQL 18 names NOT NULL constraints, and gave the new table's "<name>1" while the old one held the names.
NOT_NULL_NAMES = r"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'qr_scan_logs'::regclass AND contype = 'n' AND conname ~ '_not_null\d+$' LOOP
        EXECUTE format('ALTER TABLE qr_scan_logs RENAME CONSTRAINT %I TO %I', r.conname,
                       regexp_replace(r.conname, '\d+$', ''));
    END LOOP;
END $$;
"""


# The foreign keys are deferred: checked at once, the copied rows leave no pending event, which would stop the
# indexes and the DROP that follow in the same transaction.
FORWARDS = f"""
SET CONSTRAINTS ALL IMMEDIATE;
{aside("plain", [*INDEX_NAMES, "sale_id_key"])}
{table(partitioned=True)}
{INDEXES}
CREATE INDEX qr_scan_logs_sale_idx ON qr_scan_logs (sale_id);
SELECT create_log_partitions('qr_scan_logs',
    (SELECT (min(created_at) AT TIME ZONE 'UTC')::date FROM qr_scan_logs_plain), 3);
INSERT INTO qr_scan_logs ({COLUMNS}) SELECT {COLUMNS} FROM qr_scan_logs_plain;
INSERT INTO qr_scan_sales (sale_id, scan_id, merchant_id)
SELECT sale_id, id, merchant_id FROM qr_scan_logs_plain WHERE sale_id IS NOT NULL;
DROP TABLE qr_scan_logs_plain;
{NOT_NULL_NAMES}
ANALYZE qr_scan_logs;
"""

BACKWARDS = f"""
SET CONSTRAINTS ALL IMMEDIATE;
{aside("parted", [*INDEX_NAMES, "sale_idx"])}
{table(partitioned=False)}
INSERT INTO qr_scan_logs ({COLUMNS}) SELECT {COLUMNS} FROM qr_scan_logs_parted;
{INDEXES}
DROP TABLE qr_scan_logs_parted;
{NOT_NULL_NAMES}
ANALYZE qr_scan_logs;
"""

TRIGGERS = frozen("system", "qr_scan_logs_no_delete", 1) + frozen("system", "qr_scan_logs_no_truncate", 1)


def grant_runtime_privileges(apps, schema_editor):
    """The tables made again get the runtime role's privileges (system/db_roles.py) now, not at post_migrate,
    which a migration run by MigrationExecutor (the migration tests) never sends."""
    db_roles.grant_runtime_privileges(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0016_audit_logs_partitioned"),
        ("transactions", "0010_merged_lots_follow_the_sale"),
    ]
    operations = [
        migrations.RunPython(migrations.RunPython.noop, grant_runtime_privileges),  # backwards: last
        migrations.CreateModel(
            name="QRScanSale",
            fields=[
                (
                    "sale",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="transactions.transaction",
                    ),
                ),
                ("scan_id", models.UUIDField()),
                (
                    "merchant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={"verbose_name": "QR scan's sale", "db_table": "qr_scan_sales"},
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="qrscanlog",
                    name="sale",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The sale this scan was used for: one scan, one sale (qr_scan_sales keeps one scan "
                        "per sale).",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="transactions.transaction",
                    ),
                ),
                migrations.AddIndex(
                    model_name="qrscanlog",
                    index=models.Index(fields=["sale"], name="qr_scan_logs_sale_idx"),
                ),
            ],
            database_operations=[
                install("system", "forbid_change", 2, reverse=1),
                migrations.RunSQL(FORWARDS + TRIGGERS, BACKWARDS + TRIGGERS),
                install("system", "qr_scan_logs_take_sale", 1, reverse="DROP FUNCTION qr_scan_logs_take_sale();"),
                install(
                    "system",
                    "qr_scan_logs_one_per_sale",
                    1,
                    reverse="DROP TRIGGER qr_scan_logs_one_per_sale ON qr_scan_logs;",
                ),
            ],
        ),
        migrations.RunPython(grant_runtime_privileges, migrations.RunPython.noop),
    ]
