from django.core.management.base import BaseCommand
from django.db import OperationalError, connection, transaction

BATCH = 200  # due lots per database transaction: the customers they lock wait no longer than that


def expire_points(*, local_midnight: bool = False) -> int:
    """Expire the due lots in batches; returns how many. With `local_midnight`, only the lots due by their
    merchant's latest local midnight (the background job's rule: a merchant's points expire at the end of
    its local day). Safe to run twice, at once, and while sales complete."""
    expired = 0
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT expire_points(%s, %s)", [BATCH, local_midnight])
                written = cursor.fetchone()[0]
        except OperationalError as error:  # a deadlock with a concurrent run: its batch is retried
            if getattr(error.__cause__, "sqlstate", None) != "40P01":
                raise
            continue
        expired += written
        if not written:
            return expired


class Command(BaseCommand):
    help = (
        "Expire the points lots that are due: one `expire` ledger row per lot, for what is left of it. "
        "Safe to run twice or at the same time as another run and as sales."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--local-midnight",
            action="store_true",
            help="only lots due by their merchant's latest local midnight, as the background job does "
            "(run it every 15 minutes: every zone's midnight falls on a quarter hour)",
        )

    def handle(self, *args, local_midnight=False, **options):
        expired = expire_points(local_midnight=local_midnight)
        self.stdout.write(self.style.SUCCESS(f"Expired {expired} lot(s) of points."))
