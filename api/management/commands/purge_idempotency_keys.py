from django.core.management.base import BaseCommand

from api.services import idempotency_purge


class Command(BaseCommand):
    help = "Forget the API's stored responses older than api.idempotency_hours (24 at least)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {idempotency_purge()} stored responses.")
