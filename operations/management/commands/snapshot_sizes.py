from django.core.management.base import BaseCommand

from operations.monitoring import sizes_snapshot


class Command(BaseCommand):
    help = (
        "Record today's size of every table and its indexes (the Database pages' growth chart). Run again the "
        "same day, it updates that day's figures; the worker does this daily."
    )

    def handle(self, *args, **options):
        tables = sizes_snapshot()
        self.stdout.write(self.style.SUCCESS(f"Recorded the sizes of {tables} tables."))
