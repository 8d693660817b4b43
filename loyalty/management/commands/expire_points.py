from django.core.management.base import BaseCommand
from django.db import OperationalError, connection, transaction

BATCH = 200  # due lots per database transaction: the customers they lock wait no longer than that


class Command(BaseCommand):
    help = (
        "Expire the points lots that are due: one `expire` ledger row per lot, for what is left of it. "
        "Safe to run twice or at the same time as another run and as sales."
    )

    def handle(self, *args, **options):
        expired = 0
        while True:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT expire_points(%s)", [BATCH])
                    written = cursor.fetchone()[0]
            except OperationalError as error:  # a deadlock with a concurrent run: its batch is retried
                if getattr(error.__cause__, "sqlstate", None) != "40P01":
                    raise
                continue
            expired += written
            if not written:
                break
        self.stdout.write(self.style.SUCCESS(f"Expired {expired} lot(s) of points."))
