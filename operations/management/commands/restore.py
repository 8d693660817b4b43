from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operations.backups import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore the database as it was at a moment into a new data directory: the newest backup chain finished "
        "before it, combined and verified, set to replay the archived WAL up to that moment and then promote. "
        "Starts nothing: it prints how to start the restored cluster. The live cluster is not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", required=True, metavar="TIMESTAMP", help='with its time zone, e.g. "2026-12-03 14:05:00+00:00"'
        )
        parser.add_argument("--into", required=True, metavar="DIR", help="a new (or empty) directory")
        parser.add_argument(
            "--from-copy", action="store_true", help="restore from BACKUP_COPY_DIR and its copy of the WAL"
        )

    def handle(self, *args, to, into, from_copy, **options):
        try:
            target_at = datetime.fromisoformat(to.strip().replace("Z", "+00:00"))
        except ValueError as error:
            raise CommandError(f'"{to}" is not a time: write it like "2026-12-03 14:05:00+00:00".') from error
        try:
            restored = restore(target_at, Path(into), from_copy=from_copy)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {' + '.join(restored.chain)} into {restored.into}, to recover up to "
                f"{restored.target_at.isoformat()}."
            )
        )
        self.stdout.write(
            f"Start it (it replays the archived WAL up to that time, then promotes; it does not archive WAL):\n"
            f"  {' '.join(restored.start_command)}\n"
            f"Connect to it:\n"
            f"  psql -h {restored.socket_dir} -p {restored.port} -U {restored.user} {restored.dbname}\n"
            f"To check it, or run the app on it: DATABASE_URL='postgresql://{restored.user}@/{restored.dbname}"
            f"?host={restored.socket_dir}&port={restored.port}' python manage.py check_ledger"
        )
