"""Reads of customers."""

from customers.models import Customer


def customer_get(customer_id) -> Customer | None:
    return Customer.objects.filter(pk=customer_id).first()
