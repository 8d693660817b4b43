"""Customers joining a merchant's program from its poster."""

from dataclasses import dataclass

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram
from merchants.models import Merchant


@dataclass
class JoinResult:
    customer: Customer
    new: bool


def card_link(*, customer: Customer, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("card", kwargs={"token": customer.card_token})


@transaction.atomic
def customer_join(
    *, merchant: Merchant, first_name: str, last_name: str = "", email: str = "", phone: str = "", base_url: str
) -> JoinResult:
    """Make a member of `merchant`: a new customer with a card, or, for an email that has a card
    already, no duplicate: that card's link goes to the email and is never shown on screen."""
    email = email.strip().lower() or None
    customer, new = None, False
    if email:
        customer = Customer.objects.filter(email=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    first_name=first_name.strip(), last_name=last_name.strip(), email=email, phone=phone.strip()
                )
            new = True
        except IntegrityError:  # the same email joined at the same moment
            customer = Customer.objects.get(email=email)
    customer.refresh_from_db()
    program = LoyaltyProgram.objects.filter(merchant=merchant, is_active=True).first()
    CustomerLoyaltyAccount.objects.get_or_create(
        customer=customer, merchant=merchant, defaults={"loyalty_program": program}
    )
    if email:
        link = card_link(customer=customer, base_url=base_url)
        transaction.on_commit(
            lambda: send_mail(
                f"Your {merchant.business_name} loyalty card",
                f"Hello {customer.first_name},\n\nyou are a member of {merchant.business_name}'s loyalty program. "
                f"Your card, with the QR code to show at the counter, is here:\n\n{link}\n\n"
                "Keep this link to yourself: anyone with it can show your card.",
                None,
                [email],
            )
        )
    return JoinResult(customer=customer, new=new)
