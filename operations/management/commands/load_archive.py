"""Load an archive of old logs back, for an investigation.

    python manage.py load_archive .data/archive/audit_logs/audit_logs.2024-03.001.csv.gz

The rows go into `archive.<table>` (e.g. archive.audit_logs), made like the live table but without its
triggers and foreign keys, never back into the live table: there they would be archived a second time,
a scan log could name a customer since removed, and rows put back into an append-only log could only
leave it again through delete_archived_rows(). Loading a file twice adds nothing. `DROP SCHEMA archive
CASCADE` when done.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from operations.maintenance import MaintenanceError, load_archive


class Command(BaseCommand):
    help = "Load an archive file (ARCHIVE_DIR/<table>/*.csv.gz) into archive.<table> for an investigation."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="+", help="an archive file (its .json manifest must be beside it)")

    def handle(self, *args, file, **options):
        for path in file:
            try:
                loaded = load_archive(path)
            except MaintenanceError as error:
                raise CommandError(str(error)) from error
            except DatabaseError as error:
                raise CommandError(f"{path}: not loaded ({error})") from error
            self.stdout.write(
                f"{path}: loaded {loaded.rows} rows into {loaded.table} ({loaded.already_there} already there)"
            )
