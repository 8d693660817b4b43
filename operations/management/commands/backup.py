from django.core.management.base import BaseCommand, CommandError

from operations.backups import FULL, INCREMENTAL, BackupError, run_backup


class Command(BaseCommand):
    help = (
        "Take a backup now: an incremental one on top of the last backup (a full one when there is none to build "
        "on, or the last full one started more than BACKUP_FULL_EVERY_HOURS ago), or a full one with --full. It is "
        "verified, copied to BACKUP_COPY_DIR, and the retention is applied."
    )

    def add_arguments(self, parser):
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--full", action="store_const", dest="kind", const=FULL, help="a full backup")
        kind.add_argument(
            "--incremental", action="store_const", dest="kind", const=INCREMENTAL, help="an incremental (default)"
        )

    def handle(self, *args, kind=None, **options):
        try:
            backup = run_backup(kind or INCREMENTAL)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if backup is None:
            raise CommandError("Another backup is running; none was taken. Try again when it has finished.")
        copied = ", copied" if backup.copied else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {backup.name}: {backup.kind}, {backup.size_bytes / 2**20:.1f} MiB, verified{copied}."
            )
        )
