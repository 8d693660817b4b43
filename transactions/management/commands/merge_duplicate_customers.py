"""Customers who shared a phone before phones were unique (customers.PhoneDuplicate): the same person twice is
merged into the customer who kept the phone; the others are listed for an operator to decide."""

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import Customer, PhoneDuplicate
from transactions.services.merge import MergeError, customers_merge


def same_name(a: str | None, b: str | None) -> bool:
    return "".join((a or "").split()).casefold() == "".join((b or "").split()).casefold()


def why_not_the_same(customer: Customer, kept: Customer) -> str | None:
    """None when the pair is clearly one person: the same first and last names (case and spaces aside) and not
    two different emails; else why an operator must decide."""
    if not (customer.first_name or customer.last_name or "").strip():
        return "no name to compare"
    if not (same_name(customer.first_name, kept.first_name) and same_name(customer.last_name, kept.last_name)):
        return "different names"
    if customer.email and kept.email and customer.email.casefold() != kept.email.casefold():
        return "two different emails"
    return None


def describe(customer: Customer) -> str:
    return (
        f"{customer.customer_code} ({customer.full_name or '(no name)'}, {customer.email or 'no email'},"
        f" created {customer.created_at:%Y-%m-%d}, {customer.status})"
    )


class Command(BaseCommand):
    help = (
        "Customers who had the same phone before phones were unique: merge each one who is clearly the same person"
        " (same first and last names, not two different emails) into the customer who kept the phone, and list the"
        " others for an operator. Without --apply, only lists what it would do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="merge the clear pairs (else only list them)")

    def handle(self, *args, apply, **options):
        rows = PhoneDuplicate.objects.select_related("customer", "same_phone_as").order_by("found_at", "customer_id")
        merged = would_merge = to_decide = 0
        for row in rows:
            customer, kept = row.customer, row.same_phone_as
            if customer.status == Customer.Status.MERGED and customer.merged_into_id == kept.pk:
                # Merged by hand already: the row has done its work.
                if apply:
                    PhoneDuplicate.objects.filter(pk=row.pk).delete()
                self.stdout.write(f"Already merged: {customer.customer_code} into {kept.customer_code}.")
                continue
            reason = why_not_the_same(customer, kept)
            if reason is None and not apply:
                would_merge += 1
                self.stdout.write(f"Would merge {describe(customer)} into {describe(kept)}, who has {row.phone}.")
                continue
            if reason is None:
                try:
                    merged += self.merge(row)
                    continue
                except MergeError as error:
                    reason = f"the merge was refused: {error}"
            to_decide += 1
            self.stdout.write(
                f"To decide ({reason}): {describe(customer)} had {row.phone}, kept by {describe(kept)}.\n"
                f"  If they are one person, merge by hand: Django admin > Customers > tick {customer.customer_code}"
                f" > action 'Merge into another customer…' > give {kept.customer_code}."
            )
        if apply:
            summary = f"{merged} pair(s) merged, {to_decide} to decide by hand."
        else:
            summary = f"{would_merge} pair(s) would be merged (run with --apply), {to_decide} to decide by hand."
        self.stdout.write(self.style.SUCCESS(summary))

    def merge(self, row: PhoneDuplicate) -> int:
        """One pair in one transaction: the row is locked, so two runs at once merge it once."""
        with transaction.atomic():
            locked = PhoneDuplicate.objects.select_for_update().filter(pk=row.pk).first()
            if locked is None or locked.same_phone_as_id != row.same_phone_as_id:
                return 0
            customers_merge(source=row.customer, target=row.same_phone_as, acting_user=None)
            locked.delete()
        self.stdout.write(f"Merged {describe(row.customer)} into {describe(row.same_phone_as)}.")
        return 1
