import uuid
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from analytics.services import analytics_fold_pending, analytics_rebuild_recent
from merchants.models import Merchant


class Command(BaseCommand):
    help = (
        "Recompute merchant_daily_analytics for a range of (merchant-local) dates from the transactions. "
        "Safe to run twice and while sales complete."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from", dest="first", type=date.fromisoformat, help="first date, YYYY-MM-DD (default: 90 days ago)"
        )
        parser.add_argument(
            "--to", dest="last", type=date.fromisoformat, help="last date, YYYY-MM-DD (default: tomorrow)"
        )
        parser.add_argument("--merchant", help="merchant code or id (default: every merchant)")
        parser.add_argument(
            "--recent",
            action="store_true",
            help="only each merchant's local yesterday and today, after folding pending deltas (the daily job)",
        )
        parser.add_argument(
            "--pending", action="store_true", help="only fold the pending deltas into the figures (the frequent job)"
        )

    def handle(self, *args, first=None, last=None, merchant=None, recent=False, pending=False, **options):
        if (recent or pending) and (first or last or merchant or (recent and pending)):
            raise CommandError("--recent and --pending take no other option.")
        if pending:
            self.stdout.write(f"Folded pending deltas into {analytics_fold_pending()} day rows.")
            return
        if recent:
            folded = analytics_fold_pending()
            self.stdout.write(
                f"Folded pending deltas into {folded} day rows; rebuilt {analytics_rebuild_recent()} day rows of each "
                "merchant's local yesterday and today."
            )
            return
        last = last or date.today() + timedelta(days=1)
        first = first or last - timedelta(days=91)
        if first > last:
            raise CommandError("--from must not be after --to.")
        merchant_id = None
        if merchant:
            found = Merchant.objects.filter(merchant_code=merchant.strip().upper()).first()
            if found is None and _is_uuid(merchant):
                found = Merchant.objects.filter(pk=merchant).first()
            if found is None:
                raise CommandError(f"No merchant with code or id {merchant!r}.")
            merchant_id = found.pk
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT rebuild_merchant_daily_analytics(%s, %s, %s)", [first, last, merchant_id])
            (rows,) = cursor.fetchone()
        self.stdout.write(f"Rebuilt {rows} day rows from {first} to {last}.")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
