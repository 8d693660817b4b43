"""Maintenance: archiving old logs to files before deleting them (crash-safe, idempotent, audited),
loading an archive back, ANALYZE and REINDEX CONCURRENTLY on a real bloated index, two runs at once."""

import csv
import gzip
import io
import json
import threading
import uuid
from operator import itemgetter

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction
from procrastinate.contrib.django import app

from operations.maintenance import run_maintenance, sha256_of
from system.testing import sql

pytestmark = pytest.mark.django_db


def maintenance(*steps, archive_dir) -> str:
    out = io.StringIO()
    call_command("maintenance", only=list(steps), archive_dir=str(archive_dir), stdout=out)
    return out.getvalue()


def audit_row(days_ago: float, table: str = "merchants") -> str:
    [(row_id,)] = sql(
        "INSERT INTO audit_logs (table_name, record_id, action, new_values, created_at) "
        "VALUES (%s, gen_random_uuid(), 'INSERT', jsonb_build_object('note', 'a \"quoted\", line\nbreak'), "
        "now() - make_interval(secs => %s * 86400)) RETURNING id",
        [table, days_ago],
    )
    return str(row_id)


def scan_row(merchant, days_ago: float) -> str:
    [(row_id,)] = sql(
        "INSERT INTO qr_scan_logs (merchant_id, scanned_code, scan_result, user_agent, created_at) "
        "VALUES (%s, 'LOY-TEST', 'malformed', 'till, \"7\"', now() - make_interval(secs => %s * 86400)) RETURNING id",
        [merchant.id, days_ago],
    )
    return str(row_id)


def rows_of(table: str, ids) -> dict[str, dict]:
    return {
        str(row_id): json.loads(row)
        for row_id, row in sql(f"SELECT id, to_jsonb(t) FROM {table} t WHERE id::text = ANY(%s)", [list(ids)])
    }


def jsonb_rows(query: str, params=None) -> list[tuple]:
    """sql(), with its jsonb columns read (a raw cursor returns them as text)."""
    return [
        tuple(json.loads(v) if isinstance(v, str) and v[:1] == "{" else v for v in row) for row in sql(query, params)
    ]


def archived_ids(folder, pattern="*.csv.gz") -> list[str]:
    """Every id in the archive files of a folder, as often as it appears."""
    ids = []
    for path in sorted(folder.glob(pattern)):
        with gzip.open(path, "rt", newline="") as handle:
            ids += [row["id"] for row in csv.DictReader(handle)]
    return ids


@pytest.fixture
def logs(merchant):
    """Old and recent audit and scan logs: old ones in two months, past their retention (730 and 365 days)."""
    return {
        "old_audit": [audit_row(800 + i / 1000) for i in range(5)] + [audit_row(850), audit_row(850.001)],
        # a program's and a tier's history stays: the drift check reads it
        "new_audit": [
            audit_row(10),
            audit_row(729),
            audit_row(900, "loyalty_programs"),
            audit_row(900, "loyalty_tiers"),
        ],
        "old_scans": [scan_row(merchant, 400 + i / 1000) for i in range(4)] + [scan_row(merchant, 450)],
        "new_scans": [scan_row(merchant, 1), scan_row(merchant, 364)],
    }


def test_old_logs_are_written_to_files_then_deleted_and_recent_ones_stay(logs, tmp_path):
    before = rows_of("audit_logs", logs["old_audit"]) | rows_of("qr_scan_logs", logs["old_scans"])
    [(months,)] = sql(
        "SELECT count(DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')) FROM audit_logs "
        "WHERE id::text = ANY(%s)",
        [logs["old_audit"]],
    )

    output = maintenance("archive", archive_dir=tmp_path)

    assert sorted(archived_ids(tmp_path / "audit_logs")) == sorted(logs["old_audit"])
    assert sorted(archived_ids(tmp_path / "qr_scan_logs")) == sorted(logs["old_scans"])
    assert len(list((tmp_path / "audit_logs").glob("*.csv.gz"))) == months == 2  # one file per month
    assert rows_of("audit_logs", logs["old_audit"]) == {} and rows_of("qr_scan_logs", logs["old_scans"]) == {}
    assert set(rows_of("audit_logs", logs["new_audit"])) == set(logs["new_audit"])
    assert set(rows_of("qr_scan_logs", logs["new_scans"])) == set(logs["new_scans"])
    assert "audit_logs: wrote 2 rows of" in output and "audit_logs: deleted 2 archived rows" in output

    # each file has its manifest, and each deleting batch is audited: table, count, range, file
    entries = {
        (table, values["archive_file"]): values
        for table, values in jsonb_rows(
            "SELECT table_name, old_values FROM audit_logs WHERE old_values ? 'archived_rows'"
        )
    }
    files = sorted(tmp_path.glob("*/*.csv.gz"))
    assert len(entries) == len(files)
    for path in files:
        manifest = json.loads(path.with_name(path.name + ".json").read_text())
        assert manifest["sha256"] == sha256_of(path) and manifest["deleted_at"]
        assert (
            manifest["rows"]
            == len(archived_ids(path.parent, path.name))
            == entries[(manifest["table"], path.name)]["archived_rows"]
        )
        assert (manifest["first"], manifest["last"]) == itemgetter("first", "last")(
            entries[(manifest["table"], path.name)]
        )

    # loaded back, into archive.<table>, exactly as they were
    for folder in ("audit_logs", "qr_scan_logs"):
        for path in sorted((tmp_path / folder).glob("*.csv.gz")):
            call_command("load_archive", str(path), stdout=io.StringIO())
    loaded = {
        str(row_id): json.loads(row)
        for table in ("audit_logs", "qr_scan_logs")
        for row_id, row in sql(f"SELECT id, to_jsonb(t) FROM archive.{table} t")
    }
    assert loaded == before
    out = io.StringIO()
    call_command("load_archive", str(sorted((tmp_path / "audit_logs").glob("*.csv.gz"))[0]), stdout=out)
    assert "loaded 0 rows into archive.audit_logs (2 already there)" in out.getvalue()


def test_a_second_run_changes_nothing(logs, tmp_path):
    maintenance("archive", archive_dir=tmp_path)
    files = {p: p.read_bytes() for p in tmp_path.rglob("*.*")}
    [(audit_count,)] = sql("SELECT count(*) FROM audit_logs")
    [(scan_count,)] = sql("SELECT count(*) FROM qr_scan_logs")

    output = maintenance("archive", archive_dir=tmp_path)

    assert {p: p.read_bytes() for p in tmp_path.rglob("*.*")} == files
    assert sql("SELECT count(*) FROM audit_logs") == [(audit_count,)]
    assert sql("SELECT count(*) FROM qr_scan_logs") == [(scan_count,)]
    assert "audit_logs: nothing older than 730 days" in output


def test_when_deleting_fails_the_rows_stay_and_the_next_run_deletes_them_without_archiving_twice(logs, tmp_path):
    # A real failure after the files are written: the audit row of the deletion is refused.
    sql(
        "CREATE FUNCTION refuse_archiving() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$; "
        "CREATE TRIGGER refuse_archiving BEFORE INSERT ON audit_logs FOR EACH ROW "
        "WHEN (NEW.old_values ? 'archived_rows') EXECUTE FUNCTION refuse_archiving()"
    )
    with pytest.raises(CommandError, match="failed"):
        maintenance("archive", archive_dir=tmp_path)
    assert set(rows_of("audit_logs", logs["old_audit"])) == set(logs["old_audit"])  # nothing lost
    written = sorted(p.name for p in (tmp_path / "audit_logs").glob("*.csv.gz"))
    assert len(written) == 1  # it stopped at the first file whose rows it could not delete
    assert not json.loads((tmp_path / "audit_logs" / (written[0] + ".json")).read_text())["deleted_at"]

    sql("DROP TRIGGER refuse_archiving ON audit_logs; DROP FUNCTION refuse_archiving()")
    output = maintenance("archive", archive_dir=tmp_path)

    assert f"deleted 2 archived rows ({written[0]})" in output  # the earlier file's rows first
    assert sorted(archived_ids(tmp_path / "audit_logs")) == sorted(logs["old_audit"])  # each once
    assert rows_of("audit_logs", logs["old_audit"]) == {}
    assert set(rows_of("audit_logs", logs["new_audit"])) == set(logs["new_audit"])


def test_what_a_run_killed_while_writing_left_is_removed_and_written_again(logs, tmp_path):
    folder = tmp_path / "audit_logs"
    folder.mkdir()
    month = sql("SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM') FROM audit_logs")[0][0]
    (folder / f"audit_logs.{month}.001.csv.gz").write_bytes(b"half a file")  # renamed, no manifest yet
    (folder / f"audit_logs.{month}.002.csv.gz.tmp").write_bytes(b"a quarter")

    output = maintenance("archive", archive_dir=tmp_path)

    assert f"removed audit_logs.{month}.001.csv.gz, left incomplete by an earlier run" in output
    assert sorted(archived_ids(folder)) == sorted(logs["old_audit"])
    assert not list(folder.glob("*.tmp"))
    assert rows_of("audit_logs", logs["old_audit"]) == {}


def test_the_daily_figures_are_kept_unless_their_archiving_is_turned_on(merchant, settings, tmp_path):
    for table in ("merchant_daily_analytics", "merchant_hourly_analytics"):
        hour = ", hour" if table == "merchant_hourly_analytics" else ""
        sql(
            f"INSERT INTO {table} (merchant_id, date{hour}, total_transactions) "
            f"SELECT %s, current_date - days{', 12' if hour else ''}, 1 FROM unnest(ARRAY[5, 500, 501]) days",
            [merchant.id],
        )
    output = maintenance("archive", archive_dir=tmp_path)
    assert "merchant_daily_analytics: kept (MAINTENANCE_ARCHIVE_ANALYTICS_DAYS is 0)" in output
    assert sql("SELECT count(*) FROM merchant_daily_analytics") == [(3,)]

    settings.MAINTENANCE_ARCHIVE_ANALYTICS_DAYS = 400
    maintenance("archive", archive_dir=tmp_path)

    for table in ("merchant_daily_analytics", "merchant_hourly_analytics"):
        assert sql(f"SELECT current_date - date FROM {table}") == [(5,)]
        assert len(archived_ids(tmp_path / table)) == 2


def test_the_privileged_delete_refuses_rows_within_the_retention_and_is_audited(logs, merchant):
    old, recent = logs["old_scans"][0], logs["new_scans"][1]
    with pytest.raises(IntegrityError, match="1 of the 2 rows of qr_scan_logs are within the retention of 365 days"):
        with transaction.atomic():
            sql("SELECT delete_archived_rows('qr_scan_logs', %s, '365 days', 'f.csv.gz')", [[old, recent]])
    assert set(rows_of("qr_scan_logs", [old, recent])) == {old, recent}
    for statement, message in [
        ("DELETE FROM qr_scan_logs", "qr_scan_logs is append-only: DELETE is not allowed"),
        ("DELETE FROM audit_logs", "audit_logs is append-only: DELETE is not allowed"),
        ("SELECT delete_archived_rows('customers', ARRAY[]::text[], '1 day', NULL)", "customers is not an archived"),
        ("SELECT delete_archived_rows('audit_logs', ARRAY[]::text[], '0 days', NULL)", "retention must be positive"),
    ]:
        with pytest.raises(DatabaseError, match=message), transaction.atomic():
            sql(statement)

    user_id = uuid.uuid4()
    with transaction.atomic():
        sql("SELECT set_config('app.user_id', %s, true)", [str(user_id)])
        assert sql("SELECT delete_archived_rows('qr_scan_logs', %s, '365 days', 'f.csv.gz')", [[old]]) == [(1,)]
    assert rows_of("qr_scan_logs", [old]) == {}
    [(record, action, values, who)] = jsonb_rows(
        "SELECT record_id, action, old_values, user_id FROM audit_logs "
        "WHERE table_name = 'qr_scan_logs' AND old_values ? 'archived_rows'"
    )
    assert (action, who, values["archived_rows"], values["archive_file"]) == ("DELETE", user_id, 1, "f.csv.gz")
    assert values["first"] == values["last"] and values["retention"] == "365 days" and values["database_user"]


@pytest.fixture
def without_pgstattuple(db, superuser):
    """The test database without pgstattuple for the test: only a superuser may drop and create it again."""
    superuser.execute("DROP EXTENSION pgstattuple")
    yield
    superuser.execute("CREATE EXTENSION pgstattuple")


def test_without_pgstattuple_reindexing_is_skipped_and_says_why(tmp_path, without_pgstattuple):
    output = maintenance("reindex", archive_dir=tmp_path)
    assert "REINDEX skipped: the pgstattuple extension is not installed" in output


def test_the_daily_job_is_periodic_and_queued_once():
    task = app.tasks["operations.maintenance"]
    assert (task.queueing_lock, task.lock) == ("maintenance", "maintenance")
    assert [p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task is task] == ["50 3 * * *"]


@pytest.mark.django_db(transaction=True)
def test_the_job_archives_in_a_real_worker(merchant, settings, tmp_path):
    from system.testing import clear_jobs, run_jobs

    clear_jobs()
    settings.ARCHIVE_DIR = tmp_path
    old = [audit_row(800), scan_row(merchant, 400)]
    job_id = app.tasks["operations.maintenance"].defer(timestamp=0)

    run_jobs()

    assert sql("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id]) == [("succeeded",)]
    assert sorted(archived_ids(tmp_path / "audit_logs") + archived_ids(tmp_path / "qr_scan_logs")) == sorted(old)
    assert rows_of("audit_logs", old) == {} and rows_of("qr_scan_logs", old) == {}


@pytest.fixture
def scratch(db):
    """A table autovacuum leaves alone, with a bloated primary key: 60,000 rows, nine in ten deleted and
    vacuumed away, so its leaf pages are about a tenth full. Also a table changed since its last analyze."""
    sql(
        "CREATE TABLE maintenance_scratch (id bigint PRIMARY KEY, note text) WITH (autovacuum_enabled = false); "
        "INSERT INTO maintenance_scratch SELECT i, 'row ' || i FROM generate_series(1, 60000) i; "
        "DELETE FROM maintenance_scratch WHERE mod(id, 10) <> 0"
    )
    sql("VACUUM maintenance_scratch")
    sql("CREATE TABLE maintenance_stale (id bigint) WITH (autovacuum_enabled = false)")
    sql("ANALYZE maintenance_stale")
    sql("INSERT INTO maintenance_stale SELECT generate_series(1, 5000)")
    # what a killed REINDEX CONCURRENTLY leaves: an invalid copy of the index
    with pytest.raises(IntegrityError):
        sql("CREATE UNIQUE INDEX CONCURRENTLY maintenance_stale_idx_ccnew ON maintenance_stale (mod(id, 2))")
    sql("SELECT pg_stat_force_next_flush()")  # this session's counts, visible to the next statement
    yield
    sql("DROP TABLE maintenance_scratch; DROP TABLE maintenance_stale")


@pytest.mark.django_db(transaction=True)
def test_stale_tables_are_analyzed_and_a_bloated_index_is_rebuilt_concurrently(scratch, settings, tmp_path):
    settings.MAINTENANCE_REINDEX_MIN_BYTES = 256 * 1024
    [(density_before, relfilenode_before)] = sql(
        "SELECT avg_leaf_density, pg_relation_filenode('maintenance_scratch_pkey') "
        "FROM pgstatindex('maintenance_scratch_pkey')"
    )
    assert density_before < 20

    output = maintenance("analyze", "reindex", archive_dir=tmp_path)

    assert "ANALYZE maintenance_stale (5000 rows changed, 5000 live)" in output
    assert "DROP INDEX CONCURRENTLY maintenance_stale_idx_ccnew (left by an interrupted REINDEX)" in output
    assert sql("SELECT to_regclass('maintenance_stale_idx_ccnew')") == [(None,)]
    assert "REINDEX INDEX CONCURRENTLY maintenance_scratch_pkey: leaf density" in output
    [(density, relfilenode)] = sql(
        "SELECT avg_leaf_density, pg_relation_filenode('maintenance_scratch_pkey') "
        "FROM pgstatindex('maintenance_scratch_pkey')"
    )
    assert density > 80 and relfilenode != relfilenode_before
    assert sql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'maintenance_stale'") == [
        (True,)
    ]

    again = maintenance("analyze", "reindex", archive_dir=tmp_path)
    assert "REINDEX: no index is bloated past the settings" in again
    assert "maintenance_stale" not in again


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_do_each_thing_once(merchant, scratch, settings, tmp_path):
    settings.MAINTENANCE_REINDEX_MIN_BYTES = 256 * 1024
    old = [audit_row(800 + i / 100) for i in range(300)]
    old_scans = [scan_row(merchant, 400 + i / 100) for i in range(300)]
    start = threading.Barrier(2)
    reports = []

    def run():
        try:
            start.wait(timeout=30)
            reports.append(run_maintenance(archive_dir=tmp_path))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(reports) == 2 and [r.errors for r in reports] == [[], []]
    lines = [line for report in reports for line in report.lines]
    assert len([line for line in lines if line.startswith("REINDEX INDEX CONCURRENTLY maintenance_scratch_pkey")]) == 1
    assert sorted(archived_ids(tmp_path / "audit_logs")) == sorted(old)
    assert sorted(archived_ids(tmp_path / "qr_scan_logs")) == sorted(old_scans)
    assert rows_of("audit_logs", old) == {} and rows_of("qr_scan_logs", old_scans) == {}


def test_the_runtime_role_deletes_archived_rows_through_the_function_alone(logs):
    # delete_archived_rows is SECURITY DEFINER: it runs as the logs' owner, for a caller that may neither set
    # replication mode nor delete from the logs (the runtime role the worker connects as)
    sql(f'SET LOCAL ROLE "{settings.DATABASE_RUNTIME_ROLE}"')
    assert sql("SELECT has_parameter_privilege('session_replication_role', 'SET')") == [(False,)]

    assert sql("SELECT delete_archived_rows('audit_logs', %s, '730 days', 'f.csv.gz')", [logs["old_audit"]]) == [(7,)]

    assert rows_of("audit_logs", logs["old_audit"]) == {}
    with pytest.raises(ProgrammingError, match="permission denied for table audit_logs"), transaction.atomic():
        sql("DELETE FROM audit_logs")
    sql("RESET ROLE")
    with pytest.raises(IntegrityError, match="audit_logs is append-only"), transaction.atomic():
        sql("DELETE FROM audit_logs")  # the trigger is on


def test_an_archive_that_is_not_one_or_was_changed_is_not_loaded(logs, tmp_path):
    maintenance("archive", archive_dir=tmp_path)
    path = sorted((tmp_path / "qr_scan_logs").glob("*.csv.gz"))[0]
    stray = tmp_path / "stray.csv.gz"
    stray.write_bytes(path.read_bytes())
    with pytest.raises(CommandError, match="no manifest beside it"):
        call_command("load_archive", str(stray))
    with pytest.raises(CommandError, match="no such file"):
        call_command("load_archive", str(tmp_path / "missing.csv.gz"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="does not match its manifest's checksum: not loaded"):
        call_command("load_archive", str(path))
    assert sql("SELECT to_regclass('archive.qr_scan_logs')") == [(None,)]


# PARTITIONS ------------------------------------------------------------------------------------


def month_of(days_ago: float) -> str:
    [(month,)] = sql(
        "SELECT to_char((now() - make_interval(secs => %s * 86400)) AT TIME ZONE 'UTC', 'YYYY_MM')", [days_ago]
    )
    return month


def exists(table: str) -> bool:
    return sql("SELECT to_regclass(%s) IS NOT NULL", [table]) == [(True,)]


@pytest.fixture
def old_months():
    """The month partitions of the last 31 months (migrate made the current one and those ahead)."""
    for table in ("audit_logs", "qr_scan_logs"):
        sql("SELECT create_log_partitions(%s, (now() - interval '31 months')::date, 3)", [table])


def test_a_whole_month_past_the_retention_leaves_as_its_partition(old_months, merchant, tmp_path):
    whole = [audit_row(800), audit_row(800.001)]  # its month ended at least 769 days ago
    kept = [audit_row(900, "loyalty_programs"), audit_row(900.001)]  # a program's history stays: row by row
    scans = [scan_row(merchant, 450), scan_row(merchant, 450.001)]
    audit_month, kept_month, scan_month = month_of(800), month_of(900.001), month_of(450)
    assert len({audit_month, kept_month}) == 2

    output = maintenance("archive", archive_dir=tmp_path)

    assert not exists(f"audit_logs_p{audit_month}") and not exists(f"qr_scan_logs_p{scan_month}"), output
    assert f"audit_logs: dropped the partition audit_logs_p{audit_month}, 2 archived rows" in output
    assert exists(f"audit_logs_p{kept_month}")
    assert sql(f"SELECT id::text FROM audit_logs_p{kept_month}") == [(kept[0],)]
    assert sorted(archived_ids(tmp_path / "audit_logs")) == sorted([*whole, kept[1]])
    assert sorted(archived_ids(tmp_path / "qr_scan_logs")) == sorted(scans)
    [dropped] = (tmp_path / "audit_logs").glob(f"audit_logs.{audit_month.replace('_', '-')}.*.csv.gz")
    manifest = json.loads(dropped.with_name(dropped.name + ".json").read_text())
    assert manifest["partition"] == f"audit_logs_p{audit_month}" and manifest["rows"] == 2 and manifest["deleted_at"]
    [(record,)] = jsonb_rows(
        "SELECT old_values FROM audit_logs WHERE old_values ->> 'partition' = %s", [f"audit_logs_p{audit_month}"]
    )
    assert record["archived_rows"] == 2 and record["archive_file"] == dropped.name
    # The file loads back like any archive.
    call_command("load_archive", str(dropped), stdout=io.StringIO())
    assert sorted(r for (r,) in sql("SELECT id::text FROM archive.audit_logs")) == sorted(whole)


def test_dropping_a_partition_refuses_what_is_not_archived_whole_changing_nothing(old_months, merchant):
    audit_row(800)
    audit_row(900, "loyalty_tiers")
    recent, old, kept = month_of(100), month_of(800), month_of(900)
    cases = [
        ("transactions", f"audit_logs_p{old}", 1, "transactions is not a partitioned log"),
        ("audit_logs", "audit_logs_default", 1, "audit_logs_default is not a month partition of audit_logs"),
        ("audit_logs", f"audit_logs_p{recent}", 0, f"audit_logs_p{recent} ends within the retention of 730 days"),
        ("audit_logs", f"audit_logs_p{kept}", 1, f"audit_logs_p{kept} holds 1 rows that are kept: nothing dropped"),
        ("audit_logs", f"audit_logs_p{old}", 2, f"audit_logs_p{old} holds 1 rows, the archive f has 2"),
    ]
    for table, part, count, message in cases:
        with pytest.raises(DatabaseError, match=message), transaction.atomic():
            sql("SELECT drop_archived_partition(%s, %s, '730 days', 'f', %s)", [table, part, count])
    assert all(exists(f"audit_logs_p{m}") for m in (recent, old, kept))


def test_the_runtime_role_drops_an_archived_partition_only_through_the_function(old_months):
    audit_row(800)
    part = f"audit_logs_p{month_of(800)}"
    with transaction.atomic():
        sql(f"SET LOCAL ROLE {settings.DATABASE_RUNTIME_ROLE}")
        for statement in (f"DROP TABLE {part}", f"ALTER TABLE audit_logs DETACH PARTITION {part}"):
            with pytest.raises(DatabaseError, match="must be owner"), transaction.atomic():
                sql(statement)
        assert sql("SELECT drop_archived_partition('audit_logs', %s, '730 days', 'f', 1)", [part]) == [(1,)]
    assert not exists(part)
