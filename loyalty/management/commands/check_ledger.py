from django.core.management.base import BaseCommand, CommandError

from loyalty.integrity import ledger_errors


class Command(BaseCommand):
    help = (
        "Check that every account's points and totals equal the sums of its ledger; names each broken "
        "account and exits non-zero."
    )

    def handle(self, *args, **options):
        broken = ledger_errors()
        for line in broken:
            self.stderr.write(line)
        if broken:
            raise CommandError(f"{len(broken)} account(s) disagree with their ledger.")
        self.stdout.write(self.style.SUCCESS("Every account agrees with its ledger."))
