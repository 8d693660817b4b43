"""Helpers for the test suites: a customer's account at a merchant and its ledger."""

from loyalty.models import CustomerLoyaltyAccount


def account_of(customer, merchant) -> CustomerLoyaltyAccount:
    return CustomerLoyaltyAccount.objects.get(customer=customer, merchant=merchant)


def ledger_sum(account) -> int:
    return sum(account.ledger.values_list("points_change", flat=True))
