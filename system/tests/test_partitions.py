"""The month partitions of audit_logs and qr_scan_logs: made ahead by create_log_partitions (idempotent, safe at
once, also as the runtime role), a backdated row kept by the default partition and moved out when its month is
made, the guards and privileges of every partition, and the job's command."""

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from system.partitions import PARTITIONED, partitions_ahead, partitions_create
from system.testing import drop_months_ahead_beyond, sql


def partitions(table: str) -> set[str]:
    return {
        name
        for (name,) in sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
    }


def month_name(table: str, when: datetime) -> str:
    return f"{table}_p{when.year:04d}_{when.month:02d}"


def months_after(when: datetime, months: int) -> datetime:
    index = when.year * 12 + when.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@pytest.fixture
def three_months_ahead(django_db_blocker):
    with django_db_blocker.unblock():
        drop_months_ahead_beyond(3)
    yield
    with django_db_blocker.unblock():
        drop_months_ahead_beyond(3)


@pytest.mark.django_db
def test_every_log_has_the_current_month_the_months_ahead_and_a_default_partition():
    now = datetime.now(UTC)
    for table in PARTITIONED:
        names = partitions(table)
        assert f"{table}_default" in names
        for ahead in range(4):
            assert month_name(table, months_after(now, ahead)) in names
    assert partitions_ahead() == {"audit_logs": 3, "qr_scan_logs": 3}


@pytest.mark.django_db
def test_making_partitions_again_makes_none_and_more_months_ahead_makes_those():
    assert partitions_create(months_ahead=3) == {"audit_logs": 0, "qr_scan_logs": 0}
    assert partitions_create(months_ahead=5) == {"audit_logs": 2, "qr_scan_logs": 2}
    assert partitions_ahead() == {"audit_logs": 5, "qr_scan_logs": 5}
    with pytest.raises(ValueError, match="Months ahead must be 0 to 120, not 121"):
        partitions_create(months_ahead=121)


@pytest.mark.django_db
def test_the_function_refuses_other_tables_and_bad_months_changing_nothing():
    before = partitions("audit_logs")
    with pytest.raises(DatabaseError, match="transactions is not a partitioned log"), transaction.atomic():
        sql("SELECT create_log_partitions('transactions', NULL, 3)")
    with pytest.raises(DatabaseError, match="months ahead must be 0 to 120, not -1"), transaction.atomic():
        sql("SELECT create_log_partitions('audit_logs', NULL, -1)")
    assert partitions("audit_logs") == before


@pytest.mark.django_db
def test_a_backdated_row_goes_to_the_default_partition_and_moves_out_when_its_month_is_made(merchant):
    old = datetime(2024, 3, 15, 12, tzinfo=UTC)
    sql(
        "INSERT INTO qr_scan_logs (merchant_id, scanned_code, scan_result, created_at) "
        "VALUES (%s, 'X', 'malformed', %s)",
        [merchant.pk, old],
    )
    sql(
        "INSERT INTO audit_logs (table_name, record_id, action, created_at) VALUES ('merchants', %s, 'UPDATE', %s)",
        [merchant.pk, old],
    )
    assert sql("SELECT count(*) FROM qr_scan_logs_default") == [(1,)]
    # Made from that month: 2024-03 onwards; the row leaves the default partition for its month's.
    now, names = datetime.now(UTC), partitions("qr_scan_logs")
    missing = [
        m
        for m in range((now.year - 2024) * 12 + now.month - 3)
        if month_name("qr_scan_logs", months_after(old, m)) not in names
    ]
    [(made,)] = sql("SELECT create_log_partitions('qr_scan_logs', '2024-03-01', 3)")
    assert made == len(missing) > 0  # 2024-03 to the month before this one, those not made by an earlier test
    assert sql("SELECT count(*) FROM qr_scan_logs_default") == [(0,)]
    assert sql("SELECT scanned_code, created_at FROM qr_scan_logs_p2024_03") == [("X", old)]
    sql("SELECT create_log_partitions('audit_logs', '2024-03-01', 3)")
    assert sql("SELECT count(*) FROM audit_logs_p2024_03 WHERE record_id = %s", [merchant.pk]) == [(1,)]
    assert sql("SELECT count(*) FROM audit_logs_default") == [(0,)]
    # The moved rows are still guarded: their partition has the parent's triggers.
    with pytest.raises(IntegrityError, match="qr_scan_logs is append-only: DELETE"), transaction.atomic():
        sql("DELETE FROM qr_scan_logs WHERE scanned_code = 'X'")


@pytest.mark.django_db
def test_every_partition_is_guarded_named_after_its_parent_and_closed_to_the_runtime_role():
    sql("SELECT create_log_partitions('audit_logs', '2025-01-01', 3)")
    role = settings.DATABASE_RUNTIME_ROLE
    for table in PARTITIONED:
        for part in partitions(table):
            triggers = {name for (name,) in sql("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass", [part])}
            assert f"{table}_no_truncate" in triggers, part
            suffix = part[len(table) :]
            indexes = {
                name
                for (name,) in sql(
                    "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass", [part]
                )
            }
            assert f"{table}_pkey{suffix}" in indexes and f"{table}_created_idx{suffix}" in indexes, indexes
            assert sql("SELECT has_table_privilege(%s, %s, 'SELECT, INSERT, UPDATE, DELETE')", [role, part]) == [
                (False,)
            ], part
    with pytest.raises(IntegrityError, match="is append-only: TRUNCATE is not allowed"), transaction.atomic():
        sql("SET LOCAL loyalty.allow_truncate = off")  # the tests' flush turns it on, in a test database only
        sql("TRUNCATE audit_logs_p2025_01")


@pytest.mark.django_db
def test_the_runtime_role_makes_partitions_through_the_function_and_reads_rows_only_through_the_parent(merchant):
    role = settings.DATABASE_RUNTIME_ROLE
    month = month_name("audit_logs", months_after(datetime.now(UTC), 6))
    with transaction.atomic():
        sql(f"SET LOCAL ROLE {role}")
        assert sql("SELECT create_log_partitions('audit_logs', NULL, 6)") == [(3,)]
        sql(
            "INSERT INTO audit_logs (table_name, record_id, action, created_at) VALUES ('merchants', %s, 'UPDATE', %s)",
            [merchant.pk, months_after(datetime.now(UTC), 6) + timedelta(days=2)],
        )
        assert sql("SELECT count(*) FROM audit_logs WHERE record_id = %s", [merchant.pk]) >= [(1,)]
        for statement in (f"SELECT 1 FROM {month}", f"DELETE FROM {month}", f"DROP TABLE {month}"):
            with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                sql(statement)
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            sql("DELETE FROM audit_logs WHERE record_id = %s", [merchant.pk])


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_make_each_partition_once(three_months_ahead):
    made, errors = [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait(timeout=10)
            made.append(partitions_create(months_ahead=8))
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(m["audit_logs"] for m in made) == [0, 5] and sorted(m["qr_scan_logs"] for m in made) == [0, 5]
    assert partitions_ahead() == {"audit_logs": 8, "qr_scan_logs": 8}


@pytest.mark.django_db
def test_the_command_makes_the_months_ahead_and_says_so():
    out = io.StringIO()
    call_command("create_partitions", "--months", "4", stdout=out)
    assert out.getvalue().splitlines() == [
        "audit_logs: made 1 partition(s); 4 month(s) ahead ready.",
        "qr_scan_logs: made 1 partition(s); 4 month(s) ahead ready.",
    ]


@pytest.mark.django_db
def test_one_scan_per_sale_holds_without_a_unique_index(merchant):
    scans = [
        sql(
            "INSERT INTO qr_scan_logs (merchant_id, scanned_code, scan_result) "
            "VALUES (%s, 'X', 'success') RETURNING id",
            [merchant.pk],
        )[0][0]
        for _ in range(2)
    ]
    sale = uuid.uuid4()  # the sale's key is checked at commit (deferred), as at checkout
    sql("UPDATE qr_scan_logs SET sale_id = %s WHERE id = %s", [sale, scans[0]])
    with pytest.raises(IntegrityError, match='unique constraint "qr_scan_sales_pkey"'), transaction.atomic():
        sql("UPDATE qr_scan_logs SET sale_id = %s WHERE id = %s", [sale, scans[1]])
    # Given back, the sale may be taken by another scan.
    sql("UPDATE qr_scan_logs SET sale_id = NULL WHERE id = %s", [scans[0]])
    sql("UPDATE qr_scan_logs SET sale_id = %s WHERE id = %s", [sale, scans[1]])
    assert sql("SELECT sale_id, scan_id FROM qr_scan_sales") == [(sale, scans[1])]
    sql("UPDATE qr_scan_logs SET sale_id = NULL WHERE id = %s", [scans[1]])  # no sale: nothing at commit
    assert connection.in_atomic_block
