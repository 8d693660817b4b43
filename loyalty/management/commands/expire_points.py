from django.core.management.base import BaseCommand

from loyalty.services import points_expire


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
        expired = points_expire(local_midnight=local_midnight)
        self.stdout.write(self.style.SUCCESS(f"Expired {expired} lot(s) of points."))
