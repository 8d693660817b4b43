"""Maintenance of the database: ANALYZE where autovacuum has fallen behind, REINDEX CONCURRENTLY of
bloated indexes, and the archiving of old logs. `python manage.py maintenance` runs it; so does the
daily job at the end of this module.

Archiving writes the rows older than their retention (audit logs: MAINTENANCE_ARCHIVE_AUDIT_DAYS, scan
logs: MAINTENANCE_ARCHIVE_SCAN_DAYS, the daily and hourly figures: MAINTENANCE_ARCHIVE_ANALYTICS_DAYS,
0 keeps them) to gzip'd CSV files, one per table and month in a run,
`ARCHIVE_DIR/<table>/<table>.<YYYY-MM>.<NNN>.csv.gz`, each with a manifest beside it
(`<file>.json`: rows, sha256, time range). Only then are they deleted, in batches, by
`delete_archived_rows()` (system/sql/delete_archived_rows.sql), the one way rows leave the
append-only logs, which refuses rows within the retention and audits each batch.

The order makes it safe to kill at any point: the data file is fsync'd and renamed into place, read
back and counted, then its manifest is written the same way; deleting starts only after that. A data
file without a manifest is from a run that died before any deletion: it is removed and its rows
archived again. A manifest not marked deleted is from a run that died while deleting: the next run
first deletes that file's rows (those left), before it looks for old rows, so no row is in two files.
Two runs at once take turns through an advisory lock: the second skips what the first is doing.

audit_logs and qr_scan_logs are partitioned by month (system/partitions.py): a month wholly past the retention,
with no row that is kept, is written to its file the same way and then leaves whole, its partition detached and
dropped by `drop_archived_partition()` (which checks the retention, the kept rows and the archive's count);
a month only partly past the retention, or holding kept rows, takes the row path above.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from psycopg import sql

from system.partitions import PARTITIONED

logger = logging.getLogger(__name__)

# pg_try_advisory_lock(LOCK_SPACE, step): one run at a time per step
LOCK_SPACE = 2040
REINDEX_LOCK, ARCHIVE_LOCK = 1, 2
# The schema load_archive loads archives into, for an investigation.
ARCHIVE_SCHEMA = "archive"
MANIFEST = ".json"


@dataclass(frozen=True)
class Archived:
    """A table maintenance archives: the column its age is read from, its retention setting, and the rows
    it keeps whatever their age (an SQL condition)."""

    table: str
    age_column: str  # created_at (a timestamp) or date (the figures' local day)
    retention_setting: str
    kept: str = "false"

    @property
    def retention_days(self) -> int:
        return int(getattr(settings, self.retention_setting))


ARCHIVED = [
    # The programs' and tiers' histories stay (system/sql/audit_log_kept.sql).
    Archived("audit_logs", "created_at", "MAINTENANCE_ARCHIVE_AUDIT_DAYS", "audit_log_kept(table_name)"),
    Archived("qr_scan_logs", "created_at", "MAINTENANCE_ARCHIVE_SCAN_DAYS"),
    Archived("merchant_daily_analytics", "date", "MAINTENANCE_ARCHIVE_ANALYTICS_DAYS"),
    Archived("merchant_hourly_analytics", "date", "MAINTENANCE_ARCHIVE_ANALYTICS_DAYS"),
]
STEPS = ("analyze", "reindex", "archive")


class MaintenanceError(Exception):
    """A step that could not finish; the message says why and what was left as it was."""


@dataclass
class Report:
    """What a run did, one line each, and the steps that failed."""

    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, line: str) -> None:
        self.errors.append(line)
        self.lines.append(f"ERROR: {line}")


def run_maintenance(steps=STEPS, *, archive_dir: Path | None = None) -> Report:
    """Run the steps in order; a step that fails is reported and the others still run."""
    report = Report()
    for step in steps:
        try:
            if step == "analyze":
                analyze_stale_tables(report)
            elif step == "reindex":
                reindex_bloated_indexes(report)
            elif step == "archive":
                archive_old_rows(report, archive_dir=Path(archive_dir or settings.ARCHIVE_DIR))
            else:
                raise ValueError(f"unknown maintenance step {step!r}")
        except (MaintenanceError, DatabaseError) as error:
            report.fail(f"{step}: {error}")
    return report


def query(statement, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def advisory_lock(step: int):
    """Yield whether this session got the step's lock (False: another run holds it)."""
    [(got,)] = query("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, step])
    try:
        yield got
    finally:
        if got:
            query("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, step])


# ANALYZE -----------------------------------------------------------------------------------------

STALE_TABLES = """
    SELECT schemaname, relname, n_mod_since_analyze, n_live_tup
      FROM pg_stat_user_tables
     WHERE schemaname = 'public'
       AND n_mod_since_analyze >= %(min_rows)s
       AND n_mod_since_analyze > %(fraction)s * n_live_tup
     ORDER BY n_mod_since_analyze DESC
"""


def analyze_stale_tables(report: Report) -> list[str]:
    """ANALYZE each table changed by more than MAINTENANCE_ANALYZE_FRACTION of its live rows (and at least
    MAINTENANCE_ANALYZE_MIN_ROWS rows) since its last analyze: where autovacuum has not caught up, or
    after a bulk load."""
    stale = query(
        STALE_TABLES,
        {"fraction": settings.MAINTENANCE_ANALYZE_FRACTION, "min_rows": settings.MAINTENANCE_ANALYZE_MIN_ROWS},
    )
    return analyze_tables(report, [(schema, table) for schema, table, *_ in stale], stale)


def analyze_tables(report: Report, tables: list[tuple[str, str]], why: list[tuple] | None = None) -> list[str]:
    """ANALYZE the (schema, table)s given, e.g. after a bulk load."""
    changed = {(schema, table): (mods, live) for schema, table, mods, live in why or []}
    done = []
    for schema, table in tables:
        query(sql.SQL("ANALYZE {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
        mods, live = changed.get((schema, table), (None, None))
        reason = f" ({mods} rows changed, {live} live)" if mods is not None else ""
        report.say(f"ANALYZE {table}{reason}")
        done.append(table)
    if not done:
        report.say("ANALYZE: every table's statistics are current")
    return done


# REINDEX -----------------------------------------------------------------------------------------

BTREE_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
     WHERE c.relnamespace = 'public'::regnamespace
       AND i.indisvalid AND i.indisready AND c.relpersistence = 'p'
       AND pg_relation_size(i.indexrelid) >= %s
       AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')
     ORDER BY pg_relation_size(i.indexrelid) DESC
"""

# What a killed REINDEX CONCURRENTLY leaves behind: an invalid copy named <index>_ccnew (or _ccold).
LEFTOVER_INDEXES = """
    SELECT i.indexrelid::regclass::text
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'
       AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid)
"""


def pgstattuple_installed() -> bool:
    return bool(query("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'"))


def reindex_bloated_indexes(report: Report) -> list[str]:
    """REINDEX INDEX CONCURRENTLY each btree index of at least MAINTENANCE_REINDEX_MIN_BYTES whose leaf pages
    are on average less than MAINTENANCE_REINDEX_MIN_LEAF_DENSITY percent full, or more than
    MAINTENANCE_REINDEX_MAX_LEAF_FRAGMENTATION percent out of order (pgstattuple's pgstatindex)."""
    if not pgstattuple_installed():
        available = query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgstattuple'")
        hint = (
            "a superuser can run CREATE EXTENSION pgstattuple"
            if available
            else "this server does not ship it (PostgreSQL's contrib)"
        )
        report.say(f"REINDEX skipped: the pgstattuple extension is not installed ({hint}), so bloat cannot be measured")
        return []
    if connection.in_atomic_block:
        raise MaintenanceError(
            "REINDEX CONCURRENTLY cannot run inside a transaction block: run maintenance outside one"
        )
    with advisory_lock(REINDEX_LOCK) as got:
        if not got:
            report.say("REINDEX skipped: another maintenance run is rebuilding indexes")
            return []
        for (leftover,) in query(LEFTOVER_INDEXES):
            try:
                query(f"DROP INDEX CONCURRENTLY IF EXISTS {leftover}")
            except DatabaseError as error:  # the runtime role may REINDEX (pg_maintain), not drop an index
                if getattr(error.__cause__, "sqlstate", None) != "42501":
                    raise
                report.fail(
                    f"{leftover}, left by an interrupted REINDEX, can be dropped by the tables' owner only: "
                    "LOYALTY_DB_ROLE=owner python manage.py maintenance --only reindex"
                )
                continue
            report.say(f"DROP INDEX CONCURRENTLY {leftover} (left by an interrupted REINDEX)")
        done = []
        for name, size in query(BTREE_INDEXES, [settings.MAINTENANCE_REINDEX_MIN_BYTES]):
            stats = query("SELECT avg_leaf_density, leaf_fragmentation FROM pgstatindex(%s::regclass)", [name])
            if not stats:
                continue  # dropped meanwhile
            [(density, fragmentation)] = stats
            if density is None or density != density:  # NaN: no leaf pages
                continue
            if not (
                density < settings.MAINTENANCE_REINDEX_MIN_LEAF_DENSITY
                or fragmentation > settings.MAINTENANCE_REINDEX_MAX_LEAF_FRAGMENTATION
            ):
                continue
            query(f"REINDEX INDEX CONCURRENTLY {name}")
            [(after,)] = query("SELECT pg_relation_size(%s::regclass)", [name])
            report.say(
                f"REINDEX INDEX CONCURRENTLY {name}: leaf density {density:.0f}%, fragmentation "
                f"{fragmentation:.0f}%; {size // 1024} kB -> {after // 1024} kB"
            )
            done.append(name)
        if not done:
            report.say("REINDEX: no index is bloated past the settings")
        return done


# ARCHIVE -----------------------------------------------------------------------------------------


def _month_of(archived: Archived) -> sql.Composable:
    column = sql.Identifier(archived.age_column)
    if archived.age_column == "date":
        return sql.SQL("to_char({}, 'YYYY-MM')").format(column)
    return sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM')").format(column)


def _old_enough(archived: Archived) -> sql.Composable:
    """The rows to archive: before the cutoff, the condition delete_archived_rows() checks (the figures: whole
    days before its day), and not kept."""
    column = sql.Identifier(archived.age_column)
    kept = sql.SQL(archived.kept)
    if archived.age_column == "date":
        return sql.SQL("{} < %(cutoff)s::date AND NOT ({})").format(column, kept)
    return sql.SQL("{} < %(cutoff)s AND NOT ({})").format(column, kept)


def _month_bounds(archived: Archived, month: str) -> dict:
    """The first moment (or day) of the month and of the next, in UTC."""
    year, number = map(int, month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    if archived.age_column == "date":
        return {"start": start.date(), "end": end.date()}
    return {"start": start, "end": end}


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, write) -> None:
    """Write a file through a temporary name, fsync it, rename it into place and fsync the directory:
    after a crash the file is either complete or absent."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(data_file: Path) -> dict:
    return json.loads(data_file.with_name(data_file.name + MANIFEST).read_text())


def write_manifest(data_file: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True).encode()
    _write_durably(data_file.with_name(data_file.name + MANIFEST), lambda handle: handle.write(text))


def archive_rows(data_file: Path):
    """The archive's header and its rows, as lists of strings, streamed."""
    with gzip.open(data_file, "rt", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        yield header
        yield from reader


def _ids(data_file: Path, batch_size: int):
    rows = archive_rows(data_file)
    position = next(rows).index("id")
    batch = []
    for row in rows:
        batch.append(row[position])
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def archive_old_rows(report: Report, *, archive_dir: Path) -> dict[str, int]:
    """Archive then delete, per table, the rows older than its retention; finish a killed run's deletions
    first. Returns the rows deleted per table."""
    deleted = {}
    with advisory_lock(ARCHIVE_LOCK) as got:
        if not got:
            report.say("Archiving skipped: another maintenance run is archiving")
            return deleted
        for archived in ARCHIVED:
            folder = archive_dir / archived.table
            deleted[archived.table] = _finish_earlier_runs(report, archived, folder) if folder.exists() else 0
            if archived.retention_days <= 0:
                report.say(f"{archived.table}: kept ({archived.retention_setting} is 0)")
                continue
            folder.mkdir(parents=True, exist_ok=True)
            deleted[archived.table] += _archive_table(report, archived, folder)
    return deleted


def _finish_earlier_runs(report: Report, archived: Archived, folder: Path) -> int:
    """Remove what a run killed before its first deletion left (a data file without manifest, temporary
    files); delete the rows of archives written but not all deleted."""
    for leftover in folder.glob("*.tmp"):
        leftover.unlink()
    removed = 0
    for data_file in sorted(folder.glob(f"{archived.table}.*.csv.gz")):
        if not data_file.with_name(data_file.name + MANIFEST).exists():
            data_file.unlink()  # its rows were never deleted: they are archived again below
            report.say(f"{archived.table}: removed {data_file.name}, left incomplete by an earlier run")
            continue
        manifest = read_manifest(data_file)
        if manifest.get("deleted_at"):
            continue
        if sha256_of(data_file) != manifest["sha256"]:
            raise MaintenanceError(
                f"{data_file} does not match its manifest's checksum: its rows were left in {archived.table} "
                "and archiving stopped; look at the file before the next run"
            )
        removed += _delete_archived(report, archived, data_file, manifest)
    return removed


def _archive_table(report: Report, archived: Archived, folder: Path) -> int:
    [(cutoff,)] = query("SELECT now() - make_interval(days => %s)", [archived.retention_days])
    table, age = sql.Identifier(archived.table), sql.Identifier(archived.age_column)
    months = query(
        sql.SQL("SELECT {month}, count(*) FROM {table} WHERE {old} GROUP BY 1 ORDER BY 1").format(
            month=_month_of(archived), table=table, old=_old_enough(archived)
        ),
        {"cutoff": cutoff},
    )
    if not months:
        report.say(f"{archived.table}: nothing older than {archived.retention_days} days")
        return 0
    copy = sql.SQL(
        "COPY (SELECT * FROM {table} WHERE {old} AND {age} >= %(start)s AND {age} < %(end)s ORDER BY {age}, id) "
        "TO STDOUT WITH (FORMAT csv, HEADER true)"
    ).format(table=table, old=_old_enough(archived), age=age)
    removed = 0
    for month, _ in months:
        data_file = _next_file(folder, archived.table, month)
        params = {"cutoff": cutoff, **_month_bounds(archived, month)}

        def write(handle, params=params):
            with gzip.GzipFile(fileobj=handle, mode="wb", filename="", mtime=0) as compressed:
                with connection.cursor() as cursor, cursor.cursor.copy(copy, params) as stream:
                    for data in stream:
                        compressed.write(data)

        _write_durably(data_file, write)
        # Read back what reached the disk: the manifest records its rows and range.
        rows = archive_rows(data_file)
        position = next(rows).index(archived.age_column)
        count, first, last = 0, None, None
        for row in rows:
            count, first, last = count + 1, first or row[position], row[position]
        manifest = {
            "table": archived.table,
            "month": month,
            "rows": count,
            "first": first,
            "last": last,
            "cutoff": cutoff.isoformat(),
            "retention_days": archived.retention_days,
            "sha256": sha256_of(data_file),
            "written_at": datetime.now(UTC).isoformat(),
            "deleted_at": None,
        }
        write_manifest(data_file, manifest)
        report.say(f"{archived.table}: wrote {count} rows of {month} to {data_file}")
        partition = _whole_month(archived, month, cutoff)
        if partition:
            removed += _drop_partition(report, archived, data_file, manifest, partition)
        else:
            removed += _delete_archived(report, archived, data_file, manifest)
    return removed


def _whole_month(archived: Archived, month: str, cutoff: datetime) -> str | None:
    """The month's partition, when the table is partitioned and the whole month is past the retention with no
    row that is kept: it can leave whole."""
    if archived.table not in PARTITIONED or _month_bounds(archived, month)["end"] > cutoff:
        return None
    partition = f"{archived.table}_p{month.replace('-', '_')}"
    [(exists,)] = query("SELECT to_regclass(%s) IS NOT NULL", [f"public.{partition}"])
    if not exists:  # the month's rows are in the default partition
        return None
    statement = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
        sql.Identifier(partition), sql.SQL(archived.kept)
    )
    [(kept,)] = query(statement)
    return None if kept else partition


def _drop_partition(report: Report, archived: Archived, data_file: Path, manifest: dict, partition: str) -> int:
    """Detach and drop the archived month's partition (drop_archived_partition); when it refuses or waits too
    long for its lock, the rows are deleted one batch at a time instead."""
    try:
        with transaction.atomic():
            [(removed,)] = query(
                "SELECT drop_archived_partition(%s, %s, %s::interval, %s, %s)",
                [archived.table, partition, f"{manifest['retention_days']} days", data_file.name, manifest["rows"]],
            )
    except DatabaseError as error:
        report.say(f"{archived.table}: {partition} stays ({error}); its archived rows are deleted instead")
        return _delete_archived(report, archived, data_file, manifest)
    manifest["deleted_at"] = datetime.now(UTC).isoformat()
    manifest["partition"] = partition
    write_manifest(data_file, manifest)
    report.say(f"{archived.table}: dropped the partition {partition}, {removed} archived rows ({data_file.name})")
    return removed


def _next_file(folder: Path, table: str, month: str) -> Path:
    pattern = re.compile(rf"{re.escape(table)}\.{month}\.(\d+)\.csv\.gz")
    numbers = [int(m.group(1)) for p in folder.glob(f"{table}.{month}.*.csv.gz") if (m := pattern.fullmatch(p.name))]
    return folder / f"{table}.{month}.{max(numbers, default=0) + 1:03d}.csv.gz"


def _delete_archived(report: Report, archived: Archived, data_file: Path, manifest: dict) -> int:
    """Delete the file's rows (those still there) through delete_archived_rows(), a batch per transaction."""
    removed = 0
    retention = f"{manifest['retention_days']} days"
    for ids in _ids(data_file, settings.MAINTENANCE_ARCHIVE_BATCH_SIZE):
        try:
            with transaction.atomic():
                [(batch,)] = query(
                    "SELECT delete_archived_rows(%s, %s::text[], %s::interval, %s)",
                    [archived.table, ids, retention, data_file.name],
                )
        except DatabaseError as error:
            raise MaintenanceError(
                f"{archived.table}: deleting the rows archived in {data_file.name} failed ({error}); "
                f"{removed} were deleted, the rest stay until the next run deletes them"
            ) from error
        removed += batch
    manifest["deleted_at"] = datetime.now(UTC).isoformat()
    write_manifest(data_file, manifest)
    report.say(f"{archived.table}: deleted {removed} archived rows ({data_file.name})")
    return removed


# LOAD AN ARCHIVE BACK ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    table: str  # schema-qualified
    rows: int
    already_there: int


def load_archive(data_file: Path) -> Loaded:
    """Load an archive file into archive.<table> (created like the live table, without its triggers and
    foreign keys), for an investigation. A row already there is not loaded twice."""
    data_file = Path(data_file)
    if not data_file.is_file():
        raise MaintenanceError(f"{data_file}: no such file")
    manifest_file = data_file.with_name(data_file.name + MANIFEST)
    if not manifest_file.exists():
        raise MaintenanceError(f"{data_file}: no manifest beside it ({manifest_file.name}): not an archive")
    manifest = read_manifest(data_file)
    if sha256_of(data_file) != manifest["sha256"]:
        raise MaintenanceError(f"{data_file} does not match its manifest's checksum: not loaded")
    if manifest["table"] not in {a.table for a in ARCHIVED}:
        raise MaintenanceError(f"{data_file}: {manifest['table']} is not an archived table")
    header = next(archive_rows(data_file))
    live = sql.Identifier("public", manifest["table"])
    copy_of = sql.Identifier(ARCHIVE_SCHEMA, manifest["table"])
    columns = sql.SQL(", ").join(map(sql.Identifier, header))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(ARCHIVE_SCHEMA)))
        cursor.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS INCLUDING INDEXES)").format(
                copy_of, live
            )
        )
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE archive_load ON COMMIT DROP AS SELECT * FROM {} LIMIT 0").format(copy_of)
        )
        with cursor.cursor.copy(
            sql.SQL("COPY archive_load ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(columns)
        ) as stream:
            with gzip.open(data_file, "rb") as compressed:
                for block in iter(lambda: compressed.read(1 << 20), b""):
                    stream.write(block)
        cursor.execute("SELECT count(*) FROM archive_load")
        [total] = cursor.fetchone()
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM archive_load ON CONFLICT DO NOTHING").format(
                copy_of, columns, columns
            )
        )
        loaded = cursor.rowcount
        cursor.execute("DROP TABLE archive_load")
    return Loaded(f"{ARCHIVE_SCHEMA}.{manifest['table']}", loaded, total - loaded)


# THE DAILY JOB -----------------------------------------------------------------------------------


@app.periodic(cron=settings.MAINTENANCE_CRON)
@app.task(
    name="operations.maintenance",
    queueing_lock="maintenance",
    lock="maintenance",
    retry=RetryStrategy(max_attempts=3, wait=600),
)
def maintenance_job(timestamp: int) -> None:
    """The daily maintenance: ANALYZE, REINDEX, archiving. A failed step fails the job, which is retried."""
    report = run_maintenance()
    for line in report.lines:
        logger.info("maintenance: %s", line)
    if report.errors:
        raise MaintenanceError("; ".join(report.errors))
