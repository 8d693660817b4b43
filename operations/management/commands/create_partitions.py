"""python manage.py create_partitions [--months N]: what the daily job of the same name does (operations/jobs.py),
for cron when the workers run no recurring job (WORKER_RECURRING=0). Safe to run twice and beside the workers."""

from django.core.management.base import BaseCommand, CommandError

from system.partitions import MAX_MONTHS_AHEAD, partitions_ahead, partitions_create


class Command(BaseCommand):
    help = "Make the month partitions of audit_logs and qr_scan_logs up to PARTITIONS_AHEAD_MONTHS ahead."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, help=f"months after the current one (0 to {MAX_MONTHS_AHEAD})")

    def handle(self, *args, months=None, **options):
        try:
            made = partitions_create(months_ahead=months)
        except ValueError as error:
            raise CommandError(str(error)) from error
        ahead = partitions_ahead()
        for table, count in made.items():
            self.stdout.write(f"{table}: made {count} partition(s); {ahead[table]} month(s) ahead ready.")
