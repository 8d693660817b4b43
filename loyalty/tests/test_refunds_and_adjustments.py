"""Refunds from a sale's page, adjustments by hand from a customer's page, and check_ledger."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from loyalty.models import PointsTransaction
from loyalty_site.testing import account_of, complete_sale, ledger_sum, sql
from transactions.models import Transaction


def test_a_manager_refunds_a_sale_and_its_points_go_back(as_role, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="30.00")
    response = as_role("manager").post(reverse("transaction_refund", args=[sale.pk]), follow=True)
    assert "Refunded 30.00 USD; 30 points taken back." in response.content.decode()
    sale.refresh_from_db()
    assert sale.status == "refunded"
    assert account_of(customer, merchant).current_points == 0 == ledger_sum(account_of(customer, merchant))


def test_a_sale_is_refunded_once(as_role, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="30.00")
    client = as_role("owner")
    client.post(reverse("transaction_refund", args=[sale.pk]))
    response = client.post(reverse("transaction_refund", args=[sale.pk]), follow=True)
    assert "Only a completed sale can be refunded." in response.content.decode()
    assert account_of(customer, merchant).ledger.filter(transaction_type="reverse").count() == 1


def test_cashiers_do_not_refund(as_role, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer)
    assert as_role("cashier").post(reverse("transaction_refund", args=[sale.pk])).status_code == 403
    assert Transaction.objects.get(pk=sale.pk).status == "completed"


def test_an_owner_adjusts_points_with_a_reason(as_role, merchant, program, customer, staff):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    response = as_role("owner").post(
        reverse("customer_adjust", args=[customer.pk]), {"points_change": "25", "reason": "Birthday gift"}, follow=True
    )
    assert "+25 points: Birthday gift" in response.content.decode()
    row = PointsTransaction.objects.get(transaction_type="adjust")
    assert (row.points_change, row.created_by, row.description) == (
        25,
        staff["owner"],
        "Adjusted by hand: Birthday gift",
    )
    assert account_of(customer, merchant).current_points == 35


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"points_change": "-50", "reason": "Too many"}, "The customer has 10 points"),
        ({"points_change": "5", "reason": ""}, "Reason: This field is required."),
        ({"points_change": "0", "reason": "Nothing"}, "An adjustment moves at least one point."),
        ({"points_change": "lots", "reason": "x"}, "Points: Enter a whole number."),
    ],
)
def test_a_refused_adjustment_says_why_and_changes_nothing(as_role, merchant, program, customer, data, message):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    response = as_role("owner").post(reverse("customer_adjust", args=[customer.pk]), data, follow=True)
    assert message in response.content.decode()
    assert not PointsTransaction.objects.filter(transaction_type="adjust").exists()
    assert account_of(customer, merchant).current_points == 10


def test_managers_do_not_adjust(as_role, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer)
    assert (
        as_role("manager")
        .post(reverse("customer_adjust", args=[customer.pk]), {"points_change": "5", "reason": "x"})
        .status_code
        == 403
    )


def test_check_ledger_passes_on_a_sound_ledger_and_names_a_broken_account(merchant, program, customer, capsys):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    call_command("check_ledger")
    assert "Every account agrees with its ledger and its lots." in capsys.readouterr().out

    sql("SET LOCAL session_replication_role = replica")  # as a broken tool might write, past the triggers
    sql("UPDATE customer_loyalty_accounts SET current_points = 999 WHERE customer_id = %s", [customer.id])
    sql("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError, match="in 1 account"):
        call_command("check_ledger")
    account = f"customer {customer.customer_code} at merchant {merchant.merchant_code}"
    assert f"{account}: points and totals differ from the ledger: points 999" in capsys.readouterr().err
