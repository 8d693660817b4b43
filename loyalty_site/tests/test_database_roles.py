"""Least-privilege database roles (docs/architecture.md "Database roles").

The web app and the worker connect as the runtime role: it is refused every change of the schema, TRUNCATE,
turning a trigger off, replication mode, and any UPDATE or DELETE of the ledger and the logs, yet the app's
write paths work through the triggers. The owner role the migrations run as cannot TRUNCATE the append-only
tables either. The tests connect as the owner; `runtime_role()` switches to the runtime role inside a
savepoint (SET ROLE: every privilege is then checked as the runtime role's, triggers included).
"""

import contextlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from customers.services import customer_erase
from customers.tests.factories import CustomerFactory
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from loyalty.services import points_adjust, points_expire
from operations import jobs
from system.db_roles import APPEND_ONLY
from system.models import AuditLog, QRScanLog
from system.testing import sql
from transactions.services.merge import customers_merge
from transactions.services.refunds import transaction_refund
from transactions.services.scan import scan_resolve
from transactions.testing import complete_sale

RUNTIME = settings.DATABASE_RUNTIME_ROLE


@contextlib.contextmanager
def runtime_role():
    """Run the block as the runtime role (in a savepoint: a refusal rolls back to it)."""
    with transaction.atomic():
        sql(f'SET LOCAL ROLE "{RUNTIME}"')
        yield
        sql("SET LOCAL ROLE NONE")


def refused(statement: str, match: str) -> None:
    with pytest.raises(DatabaseError, match=match), runtime_role():
        sql(statement)


def test_the_runtime_role_is_no_superuser_and_owns_nothing(db):
    assert RUNTIME and RUNTIME != sql("SELECT current_user")[0][0]
    attributes = sql(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = %s",
        [RUNTIME],
    )
    assert attributes == [(False, False, False, False, False)]
    owned = sql(
        """SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
                + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)
                + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
                + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)
             FROM pg_roles r WHERE r.rolname = %s""",
        [RUNTIME],
    )
    assert owned == [(0,)]


@pytest.mark.parametrize(
    "statement, match",
    [
        ("CREATE TABLE intruder (id int)", "permission denied for schema public"),
        ("CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'", "permission denied for schema public"),
        ("CREATE SCHEMA intruder", "permission denied for database"),
        ("ALTER TABLE customers ADD COLUMN intruder int", "must be owner of table customers"),
        ("CREATE INDEX ON customers (email)", "must be owner of table customers"),
        ("DROP TABLE points_transactions", "must be owner of table points_transactions"),
        ("DROP TRIGGER points_transactions_append_only ON points_transactions", "must be owner of"),
        (
            "CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
            "permission denied for schema public",
        ),
        ("ALTER FUNCTION forbid_change() SECURITY DEFINER", "must be owner of function forbid_change"),
    ],
)
def test_the_runtime_role_cannot_change_the_schema(db, statement, match):
    refused(statement, match)


@pytest.mark.parametrize("table", [*APPEND_ONLY, "customers", "transactions"])
def test_the_runtime_role_cannot_truncate(db, table):
    refused(f"TRUNCATE {table}", f"permission denied for table {table}")


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("which", ["USER", "ALL", "{table}_append_only"])
def test_the_runtime_role_cannot_turn_a_trigger_off(db, table, which):
    trigger = which.format(table=table)
    if trigger == "qr_scan_logs_append_only":
        trigger = "qr_scan_logs_no_delete"
    refused(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}", f"must be owner of table {table}")


@pytest.mark.parametrize(
    "statement",
    [
        "SET session_replication_role = replica",
        "SET LOCAL session_replication_role = replica",
        "SELECT set_config('session_replication_role', 'replica', true)",
    ],
)
def test_the_runtime_role_cannot_switch_to_replication_mode(db, statement):
    refused(statement, 'permission denied to set parameter "session_replication_role"')


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_runtime_role_cannot_update_or_delete_the_ledger_and_the_logs(db, table):
    refused(f"UPDATE {table} SET created_at = created_at", f"permission denied for table {table}")
    refused(f"DELETE FROM {table}", f"permission denied for table {table}")
    refused(f"DELETE FROM {table} WHERE false", f"permission denied for table {table}")


def test_on_the_append_only_tables_the_runtime_role_may_only_select_insert_and_update_the_columns_listed(db):
    for table, columns in APPEND_ONLY.items():
        privileges = {
            privilege
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
            if sql("SELECT has_table_privilege(%s, %s, %s)", [RUNTIME, table, privilege])[0][0]
        }
        assert privileges == {"SELECT", "INSERT"}, table
        updatable = sql(
            "SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute WHERE attrelid = %s::regclass"
            " AND attnum > 0 AND NOT attisdropped AND has_column_privilege(%s, attrelid, attnum, 'UPDATE')",
            [table, RUNTIME],
        )[0][0]
        assert sorted(updatable or []) == sorted(columns), table


def test_an_ordinary_table_is_the_runtime_roles_to_read_and_write_not_to_truncate(db):
    privileges = {
        privilege
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
        if sql("SELECT has_table_privilege(%s, 'customers', %s)", [RUNTIME, privilege])[0][0]
    }
    assert privileges == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_the_runtime_role_may_analyze_and_reindex_for_maintenance(db):
    """pg_maintain (operations/maintenance.py's ANALYZE and REINDEX CONCURRENTLY), without owning the table."""
    assert sql("SELECT has_table_privilege(%s, 'customers', 'MAINTAIN')", [RUNTIME]) == [(True,)]
    with runtime_role():
        sql("ANALYZE customers")
        sql("REINDEX INDEX customers_customer_code_key")
    refused("DROP INDEX customers_customer_code_key", "must be owner of index customers_customer_code_key")


def test_only_the_runtime_role_may_call_the_functions_that_run_as_the_owner(db):
    functions = sql(
        "SELECT oid::regprocedure::text FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace"
    )
    names = {function.split("(")[0] for (function,) in functions}
    assert names == {
        "create_log_partitions",
        "delete_archived_rows",
        "drop_archived_partition",
        "merge_customers",
        "redact_customer_logs",
    }
    for (function,) in functions:
        allowed = sql(
            "SELECT rolname FROM pg_roles WHERE rolname IN ('loyalty_app', 'loyalty_backup', 'pg_monitor') "
            "AND has_function_privilege(oid, %s, 'EXECUTE') ORDER BY 1",
            [function],
        )
        assert allowed == [(RUNTIME,)], function


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_the_owner_cannot_truncate_the_append_only_tables(db, table):
    assert (
        sql("SELECT current_user")[0][0]
        == sql(f"SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '{table}'::regclass")[0][0]
    )
    with pytest.raises(IntegrityError, match=f"{table} is append-only: TRUNCATE is not allowed"), transaction.atomic():
        sql("SET LOCAL loyalty.allow_truncate = off")  # the tests' flush turns it on, in a test database only
        sql(f"TRUNCATE {table} CASCADE")


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_every_append_only_table_has_its_truncate_guard(db, table):
    guards = sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgenabled = 'O'"
        " AND tgfoid = 'forbid_truncate'::regproc AND tgtype & 32 <> 0 AND tgtype & 2 <> 0",  # TRUNCATE, BEFORE
        [table],
    )
    assert guards == [(f"{table}_no_truncate",)]


def test_the_runtime_role_runs_the_apps_write_paths(program, customer, staff):
    """A sale, a refund, a redemption, an adjustment, a scan taking its sale, expiry, a merge, an erasure, a job
    queued and the deletion of archived log rows: each through the triggers, as the runtime role."""
    owner = staff["owner"]
    merchant = program.merchant
    with runtime_role():
        scan = scan_resolve(
            merchant=merchant, user=staff["cashier"], text=customer.customer_code, ip_address="10.0.0.1"
        )
        sale = complete_sale(merchant=merchant, customer=customer, amount="150.00")
        assert sale.points_earned == 150
        account = CustomerLoyaltyAccount.objects.get(merchant=merchant, customer=customer)
        redeemed = complete_sale(merchant=merchant, customer=customer, amount="5.00", points_redeemed=100)
        sql("UPDATE qr_scan_logs SET sale_id = %s WHERE id = %s", [sale.pk, scan.log.pk])
        transaction_refund(merchant=merchant, transaction_id=redeemed.pk, acting_user=owner)
        points_adjust(merchant=merchant, customer_id=customer.pk, points_change=5, reason="goodwill", acting_user=owner)
        sql(
            "UPDATE points_lots SET expires_at = now() - interval '1 day'"
            " WHERE customer_loyalty_account_id = %s AND remaining > 0",
            [account.pk],
        )
        assert points_expire() >= 1
        other = CustomerFactory()
        complete_sale(merchant=merchant, customer=other, amount="10.00")
        customers_merge(source=other, target=customer, acting_user=None)
        customer_erase(customer=customer, acting_user=owner, reason="asked to be forgotten")
        job_id = jobs.expire_points.defer(timestamp=0)
        old = AuditLog.objects.create(
            table_name="customers",
            record_id=customer.pk,
            action="INSERT",
            created_at=timezone.now() - timedelta(days=400),
        )
    account.refresh_from_db()
    assert account.current_points == sum(
        PointsTransaction.objects.filter(customer_loyalty_account=account).values_list("points_change", flat=True)
    )
    assert QRScanLog.objects.get(pk=scan.log.pk).sale_id == sale.pk
    assert sql("SELECT task_name, status FROM procrastinate_jobs WHERE id = %s", [job_id]) == [
        ("operations.expire_points", "todo")
    ]
    with runtime_role():
        removed = sql(
            "SELECT delete_archived_rows('audit_logs', %s, interval '365 days', 'audit_logs.2025-11.001.csv.gz')",
            [[str(old.pk)]],
        )
    assert removed == [(1,)]
    assert not AuditLog.objects.filter(pk=old.pk).exists()
