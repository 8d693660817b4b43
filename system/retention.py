"""What the logs forget with time (the daily job operations.apply_retention, `manage.py apply_retention`).

A scan log keeps the network address and the browser of its scan for `privacy.scan_log_days` (90); after that
they are erased and the rest stays (the merchant, the customer, the result, the time: what the fraud checks,
the sale and the archive read). The rows still holding either are found through qr_scan_logs_identifies_idx,
a partial index on created_at of exactly those rows: a run reads only what it changes, never the older rows a
previous run cleared, however many millions of them the table holds until maintenance archives them.
"""

from django.db import connection, transaction

from system.settings_store import setting

BATCH_SIZE = 5000

_FORGET_SQL = """
    UPDATE qr_scan_logs SET ip_address = NULL, user_agent = ''
     WHERE created_at < now() - make_interval(days => %(days)s)  -- the old partitions only
       AND (id, created_at) IN (SELECT id, created_at FROM qr_scan_logs
                   WHERE (ip_address IS NOT NULL OR user_agent <> '')
                     AND created_at < now() - make_interval(days => %(days)s)
                   ORDER BY created_at
                   LIMIT %(batch)s
                     FOR UPDATE SKIP LOCKED)
"""


def scan_logs_forget_identifiers(*, batch_size: int = BATCH_SIZE) -> int:
    """Erase the address and browser of the scans older than privacy.scan_log_days, `batch_size` rows per
    transaction (so no long lock, and a stop loses at most a batch); returns how many rows changed. Safe to run
    twice and at once (a row another run holds is skipped: that run erases it)."""
    days = setting("privacy.scan_log_days")
    changed = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_FORGET_SQL, {"days": days, "batch": batch_size})
            changed += cursor.rowcount
            if cursor.rowcount < batch_size:
                return changed
