"""python manage.py remove_old_jobs: what the daily job of the same name does (operations/jobs.py), for cron
when the workers run no recurring job (WORKER_RECURRING=0). Safe to run twice and beside the workers."""

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import BaseCommand

from operations.jobs import jobs_remove_old


class Command(BaseCommand):
    help = (
        "Delete the background jobs that finished (succeeded, cancelled, aborted) more than JOBS_KEEP_DAYS ago; "
        "failed ones stay for the admin."
    )

    def handle(self, *args, **options):
        async_to_sync(jobs_remove_old)()  # on this thread's database connection
        self.stdout.write(f"Removed the jobs finished more than {settings.JOBS_KEEP_DAYS} days ago.")
