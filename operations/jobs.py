"""The recurring jobs, run by the worker (`python manage.py worker`) on a cron schedule in UTC.

Once however many workers run: procrastinate records each (task, scheduled time) it queues, so a time's
job is queued once (two runs of a job may still overlap when one is slow: each is safe at once). A run
that fails is tried again after 3, 9, 27, 81 and 243 s, then shown as failed in the admin. Every job is
safe to run twice and while sales complete, and each is a management command, so cron can stand in:

    */15 * * * *  manage.py expire_points --local-midnight
    7 * * * *     manage.py purge_idempotency_keys
    23 * * * *    manage.py purge_rate_limit_hits
    37 * * * *    manage.py purge_card_codes
    10 4 * * *    manage.py apply_retention
    20 3 * * *    manage.py create_partitions
    */5 * * * *   manage.py rebuild_analytics --pending
    30 3 * * *    manage.py rebuild_analytics --recent
    40 4 * * *    manage.py remove_old_jobs

retry_stalled_jobs has no command: it is a worker's, and workers queue it even with WORKER_RECURRING=0.
"""

import logging

from django.conf import settings
from django.core.management import call_command
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status

from analytics.services import analytics_fold_pending, analytics_rebuild_recent
from api.services import idempotency_purge
from customers.services import card_codes_purge, card_token_uses_purge
from loyalty.services import points_expire
from loyalty.services.joining import phone_verifications_purge
from system.partitions import partitions_create
from system.ratelimit import rate_limit_purge
from system.retention import scan_logs_forget_identifiers

logger = logging.getLogger(__name__)

RETRY = RetryStrategy(max_attempts=5, exponential_wait=3)


# Every 15 minutes, as every time zone's midnight falls on a quarter hour: each merchant's lots due by
# its latest local midnight expire (a lot expires once: a run finds nothing it wrote before).
@app.periodic(cron="*/15 * * * *")
@app.task(name="operations.expire_points", retry=RETRY)
def expire_points(timestamp: int) -> None:
    logger.info("Expired %s lot(s) of points.", points_expire(local_midnight=True))


@app.periodic(cron="7 * * * *")
@app.task(name="operations.purge_idempotency_keys", retry=RETRY)
def purge_idempotency_keys(timestamp: int) -> None:
    logger.info("Deleted %s stored API responses.", idempotency_purge())


# The rate limits' hits (system.ratelimit) older than a day: no window is longer.
@app.periodic(cron="23 * * * *")
@app.task(name="operations.purge_rate_limit_hits", retry=RETRY)
def purge_rate_limit_hits(timestamp: int) -> None:
    logger.info("Deleted %s rate limit hits older than a day.", rate_limit_purge())


def card_codes_purge_all() -> tuple[int, int, int]:
    """The one-time codes past use: the card page's short codes, the used live tokens, and the codes texted to
    phones. Each is refused when expired whether or not its row is still there."""
    return card_codes_purge(), card_token_uses_purge(), phone_verifications_purge()


@app.periodic(cron="37 * * * *")
@app.task(name="operations.purge_card_codes", retry=RETRY)
def purge_card_codes(timestamp: int) -> None:
    logger.info("Deleted %s short codes, %s used tokens and %s texted codes past use.", *card_codes_purge_all())


def retention_apply() -> int:
    """What the logs forget with time: the address and browser of the scans older than privacy.scan_log_days
    (system.retention), and the expired sessions (Django's clearsessions). Returns the scans changed."""
    forgotten = scan_logs_forget_identifiers()
    call_command("clearsessions")
    return forgotten


@app.periodic(cron="10 4 * * *")
@app.task(name="operations.apply_retention", retry=RETRY)
def apply_retention(timestamp: int) -> None:
    logger.info("Erased the address and browser of %s scan(s); cleared the expired sessions.", retention_apply())


# The month partitions of the logs, PARTITIONS_AHEAD_MONTHS ahead: a month is made ahead by that many days'
# runs, so a run failing (a lock it waited 2 s for) leaves time for the next ones.
@app.periodic(cron="20 3 * * *")
@app.task(name="operations.create_partitions", retry=RETRY)
def create_partitions(timestamp: int) -> None:
    made = partitions_create()
    logger.info("Made %s month partition(s): %s.", sum(made.values()), made)


# The analytics' safety net: deltas a sale left when another held the roll-up are folded within minutes,
# and each night every merchant's local yesterday and today are recomputed from the sales.
@app.periodic(cron="*/5 * * * *")
@app.task(name="operations.fold_pending_analytics", retry=RETRY)
def fold_analytics(timestamp: int) -> None:
    logger.info("Folded pending deltas into %s day rows.", analytics_fold_pending())


@app.periodic(cron="30 3 * * *")
@app.task(name="operations.rebuild_recent_analytics", retry=RETRY)
def rebuild_analytics(timestamp: int) -> None:
    analytics_fold_pending()
    logger.info("Rebuilt %s day rows of each merchant's local yesterday and today.", analytics_rebuild_recent())


# A worker killed mid-job (SIGKILL, a lost machine) leaves its jobs `doing`; once its heartbeat is older
# than WORKER_STALLED_SECONDS, any other worker queues them again here. What the dead worker's transaction
# wrote was rolled back with its connection, and every job is safe to run again.
@app.periodic(cron="* * * * *")
@app.task(name="operations.retry_stalled_jobs", queueing_lock="retry_stalled_jobs", priority=10)  # before others
async def retry_stalled_jobs(timestamp: int) -> None:
    seconds = settings.PROCRASTINATE_WORKER_DEFAULTS["stalled_worker_timeout"]
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        try:
            await app.job_manager.retry_job(job)
            logger.warning("Job %s (%s) of a dead worker: queued again.", job.id, job.task_name)
        except UniqueViolation:  # a job with its queueing lock waits already: that one does the work
            await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
            logger.warning("Job %s (%s) of a dead worker: failed, as the same job waits.", job.id, job.task_name)


async def jobs_remove_old() -> None:
    """Delete the finished jobs (succeeded, cancelled, aborted) older than JOBS_KEEP_DAYS, with their events.
    Failed jobs stay, for the admin to show: procrastinate's admin cannot delete a job."""
    await app.job_manager.delete_old_jobs(
        nb_hours=settings.JOBS_KEEP_DAYS * 24, include_cancelled=True, include_aborted=True
    )


# Finished jobs are kept JOBS_KEEP_DAYS for the admin; failed ones are never removed (nor can the admin delete them).
@app.periodic(cron="40 4 * * *")
@app.task(name="operations.remove_old_jobs", retry=RETRY)
async def remove_old_jobs(timestamp: int) -> None:
    await jobs_remove_old()
