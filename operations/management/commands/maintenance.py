"""Database maintenance now: ANALYZE where autovacuum is behind, REINDEX CONCURRENTLY of bloated indexes,
archiving of old logs. The same runs daily as a job (operations/maintenance.py); safe to run twice,
at once, and beside sales.

    python manage.py maintenance
    python manage.py maintenance --only analyze      # e.g. after a bulk load
"""

from django.core.management.base import BaseCommand, CommandError

from operations.maintenance import STEPS, run_maintenance


class Command(BaseCommand):
    help = "ANALYZE stale tables, REINDEX CONCURRENTLY bloated indexes, archive and delete old logs."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=STEPS, action="append", help="run only this step (repeatable)")
        parser.add_argument("--archive-dir", help="where archives go (default: the ARCHIVE_DIR setting)")

    def handle(self, *args, only, archive_dir, **options):
        report = run_maintenance(only or STEPS, archive_dir=archive_dir)
        for line in report.lines:
            self.stdout.write(line)
        if report.errors:
            raise CommandError(f"{len(report.errors)} maintenance step(s) failed: see above")
