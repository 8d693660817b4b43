from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from customers.services import ErasureError, customer_erase
from system import codes


def find_customer(text: str) -> Customer:
    """The customer a customer code (typed any way system.codes.normalize accepts) or an email names."""
    text = (text or "").strip()
    if "@" in text:
        customer = Customer.objects.filter(email=text.lower()).first()
        if customer is None:
            raise CommandError(f"No customer has the email {text}.")
        return customer
    try:
        code = codes.normalize(text, codes.CUSTOMER_CODE_LENGTH)
    except codes.CodeError as error:
        raise CommandError(f"{error} Give a customer code or an email.") from error
    customer = Customer.objects.filter(customer_code=code).first()
    if customer is None:
        raise CommandError(f"No customer has the code {code}.")
    return customer


class Command(BaseCommand):
    help = (
        "Erase a customer's personal data (name, email, phone, date of birth, card link), and redact it from the "
        "audit and scan logs; their sales, points history and visits stay, without the name."
    )

    def add_arguments(self, parser):
        parser.add_argument("customer", help="the customer's code, or their email")
        parser.add_argument("--reason", default="Erased with manage.py erase_customer", help="goes in the audit log")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, customer, reason, yes, **options):
        found = find_customer(customer)
        self.stdout.write(
            f"Customer {found.customer_code}: {found.full_name or '(no name)'}, {found.email or 'no email'},"
            f" {found.phone or 'no phone'}, status {found.status}, {found.total_transactions} sales."
        )
        if not yes:
            answer = input("Erase this customer's personal data? This cannot be undone. Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing was erased.")
        try:
            result = customer_erase(customer=found, acting_user=None, reason=reason)
        except ErasureError as error:
            raise CommandError(str(error)) from error
        for line in result.lines():
            self.stdout.write(line)
        if not result.already_erased:
            self.stdout.write(self.style.SUCCESS(f"Customer {found.customer_code} is erased."))
