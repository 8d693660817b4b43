"""Reads of customers."""

from customers.models import Customer
from customers.tokens import card_secret_hash


def customer_get(customer_id) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()


def customer_by_card_secret(secret: str) -> Customer | None:
    """The customer whose card link carries `secret`; None for an unknown, rotated or revoked one."""
    return Customer.objects.filter(card_token_hash=card_secret_hash(secret)).first()
