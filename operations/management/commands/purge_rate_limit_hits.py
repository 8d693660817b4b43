"""python manage.py purge_rate_limit_hits: what the hourly job of the same name does (operations/jobs.py), for
cron when the workers run no recurring job (WORKER_RECURRING=0). Safe to run twice and beside the workers."""

from django.core.management.base import BaseCommand

from system.ratelimit import rate_limit_purge


class Command(BaseCommand):
    help = "Delete the rate limits' hits older than a day."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {rate_limit_purge()} rate limit hits older than a day.")
