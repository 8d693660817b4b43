"""The month partitions of audit_logs and qr_scan_logs (docs/architecture.md "Partitions").

Both logs are RANGE-partitioned on created_at, one partition per calendar month in UTC (<table>_pYYYY_MM), with a
default partition (<table>_default) for a row no month holds. create_log_partitions() (system/sql/) makes the
months; the daily job operations.create_partitions and `manage.py create_partitions` keep
PARTITIONS_AHEAD_MONTHS months ready after the current one, so an insert at the current time always finds its
month's partition.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

PARTITIONED = ("audit_logs", "qr_scan_logs")
MAX_MONTHS_AHEAD = 120  # create_log_partitions refuses more


def partitions_create(*, months_ahead: int | None = None) -> dict[str, int]:
    """Make the missing partitions of each log from the current month through `months_ahead` months
    (PARTITIONS_AHEAD_MONTHS) after it. Returns the partitions made per table; safe to run twice and at once."""
    months = settings.PARTITIONS_AHEAD_MONTHS if months_ahead is None else months_ahead
    if not 0 <= months <= MAX_MONTHS_AHEAD:
        raise ValueError(f"Months ahead must be 0 to {MAX_MONTHS_AHEAD}, not {months}.")
    made = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for table in PARTITIONED:
            cursor.execute("SELECT create_log_partitions(%s, NULL, %s)", [table, months])
            made[table] = cursor.fetchone()[0]
    return made


# The whole months after the current one (UTC) that have their partition, counted up to the first missing one.
_MONTHS_AHEAD_SQL = f"""
    SELECT coalesce(min(k), {MAX_MONTHS_AHEAD + 1}) - 1 FROM generate_series(1, {MAX_MONTHS_AHEAD + 1}) k
     WHERE to_regclass(format('public.%%I', %s || '_p' || to_char(
               date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => k), 'YYYY_MM'))) IS NULL
"""


def partitions_ahead() -> dict[str, int]:
    """The months after the current one each log has partitions for (what the monitoring shows)."""
    ahead = {}
    with connection.cursor() as cursor:
        for table in PARTITIONED:
            cursor.execute(_MONTHS_AHEAD_SQL, [table])
            ahead[table] = cursor.fetchone()[0]
    return ahead
