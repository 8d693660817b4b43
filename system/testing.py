"""Helpers for the test suites: raw SQL and the job worker. The helpers of the apps above are in their own
testing modules (loyalty.testing, transactions.testing)."""

import json
from datetime import UTC

from django.db import connection


def sql(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def clear_jobs() -> None:
    """Remove the background jobs earlier tests left: procrastinate's tables are not emptied between tests."""
    sql("TRUNCATE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers")


def run_jobs() -> None:
    """Run a real worker on the test database until no job is due, then return. The test must be
    transactional (`django_db(transaction=True)`): the worker's connections see committed rows only.
    It queues no recurring job (a test queues the ones it runs), so the clock changes nothing."""
    from procrastinate.contrib.django import procrastinate_app
    from procrastinate.periodic import PeriodicRegistry

    app = procrastinate_app.current_app
    recurring, app.periodic_registry = app.periodic_registry, PeriodicRegistry()
    try:
        with app.replace_connector(app.connector.get_worker_connector()):
            app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
    finally:
        app.periodic_registry = recurring


def relations_read(query: str, params=None) -> set[str]:
    """The tables and partitions the plan of `query` reads or writes (EXPLAIN, FORMAT JSON): what pruning left."""

    def walk(node):
        if "Relation Name" in node:
            yield node["Relation Name"]
        for child in node.get("Plans", []):
            yield from walk(child)

    [(plan,)] = sql(f"EXPLAIN (FORMAT JSON) {query}", params)
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return set(walk(plan[0]["Plan"]))


def month_partitions(table: str, start, end) -> set[str]:
    """The names of `table`'s month partitions from the month of `start` through that of `end` (UTC)."""
    names, year, month = set(), start.astimezone(UTC).year, start.astimezone(UTC).month
    last = end.astimezone(UTC)
    while (year, month) <= (last.year, last.month):
        names.add(f"{table}_p{year:04d}_{month:02d}")
        year, month = year + month // 12, month % 12 + 1
    return names


def drop_old_partitions() -> None:
    """Drop the log partitions of months before the current one, rows and all: a committed test that made some
    leaves the next tests the months that migrate made (a backdated row goes to the default partition again)."""
    from system.partitions import PARTITIONED

    for table in PARTITIONED:
        for (part,) in sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname ~ '_p\\d{4}_\\d{2}$' "
            "AND c.relname < %s || to_char(now() AT TIME ZONE 'UTC', '\"_p\"YYYY_MM')",
            [table, table],
        ):
            sql(f"DROP TABLE {part}")


def drop_months_ahead_beyond(months: int) -> None:
    """Drop the (empty) log partitions more than `months` months after the current one: a committed test that
    made some leaves the next tests the months ahead that migrate made."""
    from system.partitions import PARTITIONED

    for table in PARTITIONED:
        for (statement,) in sql(
            "SELECT format('DROP TABLE %%I', c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname ~ '_p\\d{4}_\\d{2}$' AND c.relname > %s || "
            "to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => %s), '\"_p\"YYYY_MM')",
            [table, table, months],
        ):
            sql(statement)
