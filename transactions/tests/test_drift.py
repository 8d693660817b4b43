"""The drift check: each sale's stored points, rate and multiplier are what its program and tier
gave when it completed (check_ledger and loyalty/integrity.py)."""

from decimal import Decimal

import pytest

from loyalty.integrity import ledger_errors
from loyalty.models import LoyaltyTier
from loyalty.tests.factories import LoyaltyProgramFactory
from system.testing import sql
from transactions.testing import complete_sale

DRIFT = "a sale's points differ from what its program and tier gave"


def tamper(query, params=None):
    sql("SET LOCAL session_replication_role = replica")  # the triggers would refuse or recompute
    sql(query, params)
    sql("SET LOCAL session_replication_role = origin")


def drift() -> list[str]:
    return [error for error in ledger_errors() if DRIFT in error]


@pytest.mark.django_db
def test_sales_earned_under_earlier_settings_of_the_program_pass(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    program.points_per_dollar = Decimal("3")
    program.earn_on_total = True
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=0)
    program.max_points_per_transaction = 5
    program.save()
    assert complete_sale(merchant=merchant, customer=customer, amount="10.00").points_earned == 5

    assert ledger_errors() == []


@pytest.mark.django_db
def test_a_sale_whose_points_were_written_by_hand_is_named(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    tamper("UPDATE transactions SET points_rate = 2 WHERE id = %s", [sale.pk])

    [error] = drift()
    assert f"sale {sale.pk}: 10 points at 2.0000 a unit (x1.00); its program gave 10 at 1.0000 (x1)" in error
    assert error.startswith(f"customer {customer.customer_code} at merchant {merchant.merchant_code}")


@pytest.mark.django_db
def test_a_multiplier_without_tiers_is_named(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    tamper("UPDATE transactions SET points_multiplier = 2 WHERE id = %s", [sale.pk])

    assert len(drift()) == 1


@pytest.mark.django_db
def test_a_sale_that_missed_its_tier_is_named(merchant, program, customer):
    LoyaltyTier.objects.create(program=program, name="Gold", min_points=0, multiplier=Decimal("2"))
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    assert (sale.points_earned, sale.points_multiplier) == (20, Decimal("2"))
    assert drift() == []
    # A loader that skips tiers: the points and multiplier of a sale without them.
    tamper("UPDATE transactions SET points_multiplier = 1, points_earned = 10 WHERE id = %s", [sale.pk])

    assert len(drift()) == 1


@pytest.mark.django_db
def test_a_sale_without_a_program_earns_nothing(merchant, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    assert drift() == []
    tamper("UPDATE transactions SET points_earned = 3 WHERE id = %s", [sale.pk])

    assert len(drift()) == 1


@pytest.mark.django_db
def test_a_sale_is_judged_by_the_version_of_its_program_in_force_then(merchant, program, customer):
    program.points_per_dollar = Decimal("2")
    program.save()
    # The program was made two hours ago at 1 point a unit and changed to 2 an hour ago.
    tamper("UPDATE loyalty_programs SET created_at = now() - interval '2 hours' WHERE id = %s", [program.pk])
    tamper(
        "UPDATE audit_logs SET created_at = now() - CASE action WHEN 'INSERT' THEN interval '2 hours' "
        "ELSE interval '1 hour' END WHERE table_name = 'loyalty_programs' AND record_id = %s",
        [program.pk],
    )
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    assert drift() == []
    # Recorded as the version of two hours ago would have given it.
    tamper("UPDATE transactions SET points_rate = 1, points_earned = 10 WHERE id = %s", [sale.pk])

    [error] = drift()
    assert "10 points at 1.0000 a unit (x1.00); its program gave 20 at 2.0000 (x1)" in error


@pytest.mark.django_db
def test_sales_from_before_the_merchant_had_a_program_pass(merchant, customer):
    assert complete_sale(merchant=merchant, customer=customer, amount="10.00").points_earned == 0
    LoyaltyProgramFactory(merchant=merchant)

    assert ledger_errors() == []


@pytest.mark.django_db
def test_sales_of_a_tier_pass_once_the_tiers_are_gone(merchant, program, customer):
    tier = LoyaltyTier.objects.create(program=program, name="Gold", min_points=0, multiplier=Decimal("2"))
    assert complete_sale(merchant=merchant, customer=customer, amount="10.00").points_multiplier == Decimal("2")
    tier.delete()

    assert ledger_errors() == []
