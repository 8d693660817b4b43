"""python manage.py purge_card_codes: what the hourly job of the same name does (operations/jobs.py), for cron
when the workers run no recurring job (WORKER_RECURRING=0). Safe to run twice and beside the workers."""

from django.core.management.base import BaseCommand

from operations.jobs import card_codes_purge_all


class Command(BaseCommand):
    help = "Delete the one-time codes past use: short card codes, used live tokens, codes texted to phones."

    def handle(self, *args, **options):
        codes, tokens, texted = card_codes_purge_all()
        self.stdout.write(f"Deleted {codes} short codes, {tokens} used tokens and {texted} texted codes past use.")
