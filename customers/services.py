"""Writes of customers: the secret of their card page's link."""

import secrets

from django.db import transaction

from customers.models import Customer
from customers.tokens import card_secret_hash
from system.audit import set_acting_user


@transaction.atomic
def card_link_issue(*, customer: Customer, acting_user=None) -> str:
    """A new secret for the customer's card page link, returned once, to go into the link sent to them or the
    redirect to their card; only its hash is stored, so the link before it stops working at once."""
    secret = secrets.token_hex(32)
    set_acting_user(acting_user)
    Customer.objects.filter(pk=customer.pk).update(card_token_hash=card_secret_hash(secret))
    customer.card_token_hash = card_secret_hash(secret)
    return secret
