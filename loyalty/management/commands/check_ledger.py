from django.core.management.base import BaseCommand, CommandError

from loyalty.integrity import ledger_problems


class Command(BaseCommand):
    help = (
        "Check every account: points and totals equal the sums of its ledger, its lots hold its balance and "
        "none is over-consumed, each sale's points and refunds match its ledger rows, and each sale's points, rate "
        "and multiplier are what its program and tier gave then. Names each broken account and exits non-zero."
    )

    def handle(self, *args, **options):
        problems = ledger_problems()
        for account, problem, details in problems:
            self.stderr.write(f"customer {account}: {problem}: {details}")
        if problems:
            accounts = len({account for account, _, _ in problems})
            raise CommandError(f"{len(problems)} problem(s) in {accounts} account(s).")
        self.stdout.write(self.style.SUCCESS("Every account agrees with its ledger and its lots."))
