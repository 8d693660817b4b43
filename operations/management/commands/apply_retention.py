"""python manage.py apply_retention: what the daily job of the same name does (operations/jobs.py), for cron
when the workers run no recurring job (WORKER_RECURRING=0). Safe to run twice and beside the workers."""

from django.core.management.base import BaseCommand

from operations.jobs import retention_apply


class Command(BaseCommand):
    help = (
        "Erase the network address and browser of the scans older than privacy.scan_log_days, and delete the "
        "expired sessions."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Erased the address and browser of {retention_apply()} scan(s); cleared expired sessions.")
