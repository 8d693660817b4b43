"""Monitoring the database: what the admin's Database pages and /metrics read, the operator's
actions there (reset the statement statistics, cancel or terminate a backend; each recorded in
`database_actions`), and the daily size snapshot (a periodic job and `manage.py snapshot_sizes`).

Everything is read from PostgreSQL's own statistics views (pg_stat_*, pg_locks) and
`pg_stat_statements` when it is loaded.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Count
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from operations import backups
from operations.models import DatabaseAction, SizeSnapshot
from system import replica
from system.partitions import partitions_ahead

# An index scanned fewer times than this since the statistics were reset is "rarely used".
RARELY_USED_SCANS = 50
ROW_LIMIT = 200


def _rows(sql: str, params=None, using: str = DEFAULT_DB_ALIAS) -> list[dict]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _row(sql: str, params=None, using: str = DEFAULT_DB_ALIAS) -> dict:
    return _rows(sql, params, using)[0]


def _fresh_statistics() -> None:
    """Read the statistics views anew: inside a transaction PostgreSQL keeps showing the backends
    and counters as they were at its first read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")


def ratio(hit: int | None, read: int | None) -> float | None:
    """hit / (hit + read), or None before anything was read."""
    total = (hit or 0) + (read or 0)
    return (hit or 0) / total if total else None


# --- pg_stat_statements ---------------------------------------------------------------------


@dataclass(frozen=True)
class StatementsStatus:
    available: bool  # the server has the extension (contrib)
    created: bool  # CREATE EXTENSION was run in this database
    loaded: bool  # in shared_preload_libraries

    @property
    def ready(self) -> bool:
        return self.available and self.created and self.loaded

    @property
    def advice(self) -> str:
        """What the operator must do before the statement statistics can be read; empty when ready."""
        if not self.available:
            return (
                "pg_stat_statements is not installed on this PostgreSQL server. It comes with PostgreSQL's "
                "contrib modules (Debian: the postgresql-contrib package). Install them, add pg_stat_statements "
                "to shared_preload_libraries in postgresql.conf, restart PostgreSQL, then run "
                "CREATE EXTENSION pg_stat_statements; in this database as a superuser."
            )
        if not self.loaded:
            return (
                "pg_stat_statements is not loaded. Set shared_preload_libraries = 'pg_stat_statements' in "
                "postgresql.conf (keep any libraries already listed there) and restart PostgreSQL"
                + ("." if self.created else ", then run CREATE EXTENSION pg_stat_statements; as a superuser.")
            )
        if not self.created:
            return (
                "pg_stat_statements is loaded but not created in this database: run "
                "CREATE EXTENSION pg_stat_statements; in it as a superuser (the migration "
                "operations.0002 does it when the migrating role may)."
            )
        return ""


def statements_status() -> StatementsStatus:
    row = _row(
        """
        SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
               EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS created,
               (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS libraries
        """
    )
    if row["created"]:  # its view answers only when the library is loaded
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_stat_statements_info")
            loaded = True
        except DatabaseError:
            loaded = False
    else:  # pg_settings hides the libraries from a role without pg_read_all_settings: then "not loaded"
        libraries = (row["libraries"] or "").replace('"', "").replace(" ", "").split(",")
        loaded = "pg_stat_statements" in libraries
    return StatementsStatus(available=row["available"], created=row["created"], loaded=loaded)


STATEMENT_ORDERS = {
    "total": "total_exec_time",
    "mean": "mean_exec_time",
    "calls": "calls",
}


def statements(*, order: str, search: str = "", limit: int = 25) -> list[dict]:
    """This database's statements from pg_stat_statements (those containing `search`, if given),
    the `limit` first by `order` ("total": most time in all, "mean": slowest on average, "calls":
    most frequent). Only call it when statements_status().ready."""
    column = STATEMENT_ORDERS[order]
    return _rows(
        f"""
        SELECT s.queryid, s.query, s.calls, s.rows,
               s.total_exec_time, s.mean_exec_time, s.max_exec_time,
               s.shared_blks_hit, s.shared_blks_read
          FROM pg_stat_statements s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND strpos(lower(s.query), lower(%s)) > 0
         ORDER BY s.{column} DESC
         LIMIT %s
        """,
        [search, limit],
    )


def statements_since() -> datetime.datetime | None:
    """When the statement statistics were last reset."""
    return _row("SELECT stats_reset FROM pg_stat_statements_info")["stats_reset"]


# --- the database as a whole -----------------------------------------------------------------


def database_overview() -> dict:
    """Size, transactions, deadlocks, cache hit ratios, connections and server facts of this database."""
    overview = _row(
        """
        SELECT current_database() AS name, version() AS version,
               pg_database_size(current_database()) AS size_bytes,
               pg_postmaster_start_time() AS started_at, pg_is_in_recovery() AS is_replica,
               current_setting('max_connections')::integer AS max_connections,
               current_setting('log_min_duration_statement') AS log_min_duration_statement,
               d.numbackends AS connections, d.xact_commit, d.xact_rollback, d.deadlocks, d.conflicts,
               d.temp_files, d.temp_bytes, d.blks_hit, d.blks_read, d.stats_reset,
               t.heap_hit, t.heap_read, t.index_hit, t.index_read
          FROM pg_stat_database d,
               (SELECT sum(heap_blks_hit) AS heap_hit, sum(heap_blks_read) AS heap_read,
                       sum(idx_blks_hit) AS index_hit, sum(idx_blks_read) AS index_read
                  FROM pg_statio_user_tables) t
         WHERE d.datname = current_database()
        """
    )
    overview["cache_hit_ratio"] = ratio(overview["blks_hit"], overview["blks_read"])
    overview["table_hit_ratio"] = ratio(overview["heap_hit"], overview["heap_read"])
    overview["index_hit_ratio"] = ratio(overview["index_hit"], overview["index_read"])
    overview["connections_by_state"] = connections_by_state()
    return overview


def statistics_since() -> datetime.datetime | None:
    """When this database's statistics (scans, tuples, blocks) were last reset; None: never."""
    return _row("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")["stats_reset"]


def connections_by_state() -> dict[str, int]:
    """This database's backends by state ("active", "idle", "idle in transaction", ...); a
    backend without a state (a background worker) counts under its type."""
    rows = _rows(
        """
        SELECT coalesce(state, backend_type) AS state, count(*) AS connections
          FROM pg_stat_activity
         WHERE datname = current_database()
         GROUP BY 1 ORDER BY 1
        """
    )
    return {row["state"]: row["connections"] for row in rows}


# --- tables and indexes ----------------------------------------------------------------------


def tables() -> list[dict]:
    """Each table: its size and its indexes' size, live and dead rows, the last (auto)vacuum and
    (auto)analyze, and its growth since the snapshots of 7 and 30 days ago."""
    rows = _rows(
        """
        SELECT s.schemaname || '.' || s.relname AS table_name,
               pg_table_size(s.relid) AS table_bytes, pg_indexes_size(s.relid) AS index_bytes,
               pg_total_relation_size(s.relid) AS total_bytes,
               s.n_live_tup AS live_rows, s.n_dead_tup AS dead_rows, s.n_mod_since_analyze AS changed_since_analyze,
               s.seq_scan, s.idx_scan,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
               s.vacuum_count + s.autovacuum_count AS vacuums, s.analyze_count + s.autoanalyze_count AS analyzes
          FROM pg_stat_user_tables s
         ORDER BY pg_total_relation_size(s.relid) DESC, 1
        """
    )
    today = timezone.localdate()
    week_ago = _sizes_on_or_before(today - datetime.timedelta(days=7))
    month_ago = _sizes_on_or_before(today - datetime.timedelta(days=30))
    for row in rows:
        total = row["live_rows"] + row["dead_rows"]
        row["dead_ratio"] = row["dead_rows"] / total if total else None
        row["growth_7_days"] = _growth(row, week_ago)
        row["growth_30_days"] = _growth(row, month_ago)
    return rows


def _sizes_on_or_before(day: datetime.date) -> dict[str, int]:
    """Each table's total bytes in the latest snapshot taken on or before `day`."""
    latest = SizeSnapshot.objects.filter(snapshot_date__lte=day).order_by("-snapshot_date").first()
    if latest is None:
        return {}
    return {s.table_name: s.total_bytes for s in SizeSnapshot.objects.filter(snapshot_date=latest.snapshot_date)}


def _growth(row: dict, before: dict[str, int]) -> int | None:
    return row["total_bytes"] - before[row["table_name"]] if row["table_name"] in before else None


def indexes(*, fewer_scans_than: int = RARELY_USED_SCANS) -> list[dict]:
    """Indexes scanned fewer than `fewer_scans_than` times since the statistics were reset,
    largest first. One that backs a constraint (primary key, unique) is needed even unscanned."""
    return _rows(
        """
        SELECT s.schemaname || '.' || s.relname AS table_name, s.indexrelname AS index_name,
               s.idx_scan AS scans, s.last_idx_scan AS last_scan_at,
               pg_relation_size(s.indexrelid) AS size_bytes,
               i.indisunique AS is_unique,
               EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid) AS backs_constraint,
               pg_get_indexdef(s.indexrelid) AS definition
          FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE s.idx_scan < %s
         ORDER BY pg_relation_size(s.indexrelid) DESC, s.idx_scan, 2
         LIMIT %s
        """,
        [fewer_scans_than, ROW_LIMIT],
    )


def size_history(*, days: int = 90) -> list[SizeSnapshot]:
    """The snapshots of the last `days` days, oldest first."""
    since = timezone.localdate() - datetime.timedelta(days=days)
    return list(SizeSnapshot.objects.filter(snapshot_date__gte=since).order_by("snapshot_date", "table_name"))


# --- activity, locks, replication, backups ---------------------------------------------------


def activity() -> list[dict]:
    """This database's backends other than this one: who, what, since when, waiting on what and
    blocked by which backends. Those in a transaction first, the longest-running first."""
    _fresh_statistics()
    return _rows(
        """
        SELECT a.pid, a.usename AS user_name, a.application_name, a.client_addr::text AS client_addr,
               a.backend_type, a.state, a.wait_event_type, a.wait_event,
               a.backend_start, a.xact_start, a.query_start, now() - a.state_change AS state_age,
               now() - a.xact_start AS transaction_age, pg_blocking_pids(a.pid) AS blocked_by, a.query
          FROM pg_stat_activity a
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
         ORDER BY a.xact_start IS NULL, a.xact_start, a.pid
         LIMIT %s
        """,
        [ROW_LIMIT],
    )


def locks() -> list[dict]:
    """The locks of this database's backends other than this one, waiting ones first; each with
    the backends that block it."""
    _fresh_statistics()
    return _rows(
        """
        SELECT l.pid, l.locktype, l.mode, l.granted, l.waitstart AS waiting_since,
               CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text END AS relation,
               l.transactionid::text AS transaction_id,
               a.usename AS user_name, a.application_name, a.state,
               CASE WHEN l.granted THEN '{}'::integer[] ELSE pg_blocking_pids(l.pid) END AS blocked_by,
               a.query
          FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE a.datname = current_database() AND l.pid <> pg_backend_pid() AND l.locktype <> 'virtualxid'
         ORDER BY l.granted, l.waitstart, l.pid, relation
         LIMIT %s
        """,
        [ROW_LIMIT],
    )


def replication(*, using: str = DEFAULT_DB_ALIAS) -> dict:
    """The replicas streaming from this server (empty: no replica), its replication slots, and,
    when this server is itself a replica, how far it has replayed."""
    is_replica = _row("SELECT pg_is_in_recovery() AS is_replica", using=using)["is_replica"]
    replicas = _rows(
        """
        SELECT application_name, client_addr::text AS client_addr, state, sync_state,
               sent_lsn::text AS sent_lsn, replay_lsn::text AS replay_lsn,
               CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn) END
                   AS write_lag_bytes,
               CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) END
                   AS flush_lag_bytes,
               CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END
                   AS lag_bytes,
               write_lag, flush_lag, replay_lag, reply_time
          FROM pg_stat_replication
         ORDER BY application_name, client_addr
        """,
        using=using,
    )
    slots = _rows(
        """
        SELECT slot_name, slot_type, active, wal_status,
               CASE WHEN NOT pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END
                   AS retained_bytes
          FROM pg_replication_slots
         ORDER BY slot_name
        """,
        using=using,
    )
    replaying = None
    if is_replica:
        replaying = _row(
            """
            SELECT pg_last_wal_replay_lsn()::text AS replay_lsn,
                   pg_last_xact_replay_timestamp() AS replayed_at,
                   pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) AS unreplayed_bytes,
                   CASE WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN interval '0'
                        ELSE now() - pg_last_xact_replay_timestamp() END AS replay_delay
            """,
            using=using,
        )
    return {"is_replica": is_replica, "replicas": replicas, "slots": slots, "replaying": replaying}


def replica_router() -> dict:
    """Whether this process's dashboards read from the read replica now, and why not (system/replica.py)."""
    state = replica.health()
    if state is None:
        return {"configured": False, "using": False, "reason": "no replica configured (DATABASE_REPLICA_URL)"}
    return {
        "configured": True,
        "using": state.usable,
        "reason": state.reason,
        "lag_seconds": state.lag_seconds,
        "max_lag_seconds": settings.DATABASE_REPLICA_MAX_LAG,
    }


def recent_backups(*, limit: int = 10) -> list:
    """The last backups, newest first (operations.backups)."""
    return backups.list_backups()[:limit]


def last_successful_backup():
    """The newest backup that finished without an error, or None."""
    return next((b for b in backups.list_backups() if b.finished_at and not b.error), None)


# --- figures for /metrics (operations/metrics.py) --------------------------------------------


def scrape_figures() -> dict:
    """What /metrics reports of the database, in short queries bounded by a 2 s timeout:
    size, transactions, deadlocks, blocks, connections by state, replicas and their lag, the
    jobs by status, the months ahead each partitioned log has partitions for."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '2s'")
        figures = _row(
            """
            SELECT pg_database_size(current_database()) AS size_bytes,
                   d.xact_commit, d.xact_rollback, d.deadlocks, d.blks_hit, d.blks_read,
                   pg_is_in_recovery() AS is_replica,
                   CASE WHEN NOT pg_is_in_recovery() THEN NULL
                        WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                        ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS replay_delay_seconds,
                   (SELECT coalesce(json_object_agg(state, connections), '{}')
                      FROM (SELECT coalesce(state, backend_type) AS state, count(*) AS connections
                              FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1) s) AS connections,
                   (SELECT coalesce(json_agg(json_build_object(
                               'name', application_name, 'address', coalesce(client_addr::text, 'local'),
                               'lag_bytes', CASE WHEN NOT pg_is_in_recovery()
                                                 THEN pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END,
                               -- replay_lag keeps its last value a while after the replica caught up
                               'replay_lag_seconds', CASE WHEN NOT pg_is_in_recovery()
                                                           AND replay_lsn >= pg_current_wal_lsn() THEN 0
                                                          ELSE extract(epoch FROM replay_lag) END)), '[]')
                      FROM pg_stat_replication) AS replicas
              FROM pg_stat_database d
             WHERE d.datname = current_database()
            """
        )
        figures["jobs"] = dict(
            ProcrastinateJob.objects.values("status").annotate(jobs=Count("id")).values_list("status", "jobs")
        )
        figures["partitions_ahead"] = partitions_ahead()
    figures["cache_hit_ratio"] = ratio(figures["blks_hit"], figures["blks_read"])
    return figures


# --- the operator's actions (each recorded in database_actions) -------------------------------


class BackendNotFound(LookupError):
    def __init__(self, pid: int):
        super().__init__(f"No backend of this database runs as process {pid} (it may have ended already).")


class StatementsUnavailable(RuntimeError):
    pass


@transaction.atomic
def backend_signal(*, pid: int, action: str, user) -> DatabaseAction:
    """Cancel the query of backend `pid` (action "cancel") or end its connection ("terminate"),
    and record it. Only a backend of this database other than this request's own."""
    if action not in (DatabaseAction.Kind.CANCEL, DatabaseAction.Kind.TERMINATE):
        raise ValueError(f"Unknown action {action!r}.")
    _fresh_statistics()
    found = _rows(
        """
        SELECT usename, application_name, state, query
          FROM pg_stat_activity
         WHERE pid = %s AND datname = current_database() AND pid <> pg_backend_pid()
        """,
        [pid],
    )
    if not found:
        raise BackendNotFound(pid)
    backend = found[0]
    function = "pg_cancel_backend" if action == DatabaseAction.Kind.CANCEL else "pg_terminate_backend"
    error = ""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [pid])
            succeeded = cursor.fetchone()[0]
    except DatabaseError as exc:  # e.g. the app's role may not signal a superuser's backend
        succeeded, error = False, str(exc).strip()
    if not succeeded and not error:
        error = "PostgreSQL did not signal the process (it may have ended already)."
    return DatabaseAction.objects.create(
        action=action,
        pid=pid,
        backend_user=backend["usename"] or "",
        backend_application=backend["application_name"] or "",
        backend_state=backend["state"] or "",
        backend_query=backend["query"] or "",
        succeeded=succeeded,
        error=error,
        user=user,
    )


@transaction.atomic
def statements_reset(*, user) -> DatabaseAction:
    """Reset pg_stat_statements (every database's statements), and record it, done or refused (a
    role that is not a superuser needs EXECUTE on pg_stat_statements_reset)."""
    status = statements_status()
    if not status.ready:
        raise StatementsUnavailable(status.advice)
    error = ""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_statements_reset()")
    except DatabaseError as exc:
        error = str(exc).strip()
    return DatabaseAction.objects.create(
        action=DatabaseAction.Kind.RESET_STATEMENTS, succeeded=not error, error=error, user=user
    )


# --- the daily size snapshot -----------------------------------------------------------------


def sizes_snapshot(*, day: datetime.date | None = None) -> int:
    """Record each table's size for `day` (today in TIME_ZONE by default); run again the same
    day, it updates that day's rows. Returns the number of tables recorded."""
    day = day or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO size_snapshots (snapshot_date, table_name, table_bytes, index_bytes, row_estimate)
            SELECT %s, n.nspname || '.' || c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid),
                   greatest(c.reltuples, 0)::bigint
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
            ON CONFLICT (snapshot_date, table_name) DO UPDATE
               SET table_bytes = excluded.table_bytes, index_bytes = excluded.index_bytes,
                   row_estimate = excluded.row_estimate, taken_at = now()
            """,
            [day],
        )
        return cursor.rowcount


@app.periodic(cron="17 3 * * *", periodic_id="snapshot_sizes")
@app.task(queueing_lock="snapshot_sizes", retry=RetryStrategy(max_attempts=5, exponential_wait=30))
def snapshot_sizes(timestamp: int) -> int:
    """Every day at 03:17: the tables' sizes (sizes_snapshot); `manage.py snapshot_sizes` does the same."""
    return sizes_snapshot()
