"""Refunds from a sale's page, adjustments by hand from a customer's page, and check_ledger."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from loyalty.models import PointsTransaction
from loyalty.testing import account_of, ledger_sum
from system.testing import sql
from transactions.models import Transaction
from transactions.testing import complete_sale


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


def test_a_manager_refunds_part_of_a_sale_from_its_page(as_role, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="30.00")
    client = as_role("manager")
    page = client.get(reverse("transaction", args=[sale.pk])).content.decode()
    assert 'id="refund-amount"' in page and "Refund " in page and "data-confirm=" in page

    page = client.post(reverse("transaction_refund", args=[sale.pk]), {"amount": "10.00"}, follow=True)
    page = page.content.decode()

    assert "Refunded 10.00 USD; 10 points taken back." in page
    assert "Refunded so far" in page and 'id="refunds"' in page
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == ("completed", 10)
    page = client.post(reverse("transaction_refund", args=[sale.pk]), {"amount": ""}, follow=True).content.decode()
    assert "Refunded 20.00 USD; 20 points taken back." in page
    assert Transaction.objects.get(pk=sale.pk).status == "refunded"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "Enter a number."),
        ("-5", "Ensure this value is greater than or equal to 0.01."),
        ("1.001", "Ensure that there are no more than 2 decimal places."),
        ("30.01", "Only 30.00 USD of this sale is left to refund."),
        ("1e400", "Ensure this value is less than or equal to 1000000.00."),
    ],
)
def test_a_bad_refund_amount_gets_a_clear_message_and_changes_nothing(
    as_role, merchant, program, customer, amount, message
):
    sale = complete_sale(merchant=merchant, customer=customer, amount="30.00")
    response = as_role("owner").post(reverse("transaction_refund", args=[sale.pk]), {"amount": amount}, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount, account_of(customer, merchant).current_points) == ("completed", 0, 30)


def test_another_merchants_sale_cannot_be_refunded(as_role, customer):
    from merchants.tests.factories import MerchantFactory

    other = MerchantFactory()
    sale = complete_sale(merchant=other, customer=customer, amount="5.00")
    assert as_role("owner").post(reverse("transaction_refund", args=[sale.pk]), {"amount": "1"}).status_code == 404
    assert Transaction.objects.get(pk=sale.pk).refunded_amount == 0


def test_an_admin_adjusts_points_in_the_admin_and_the_adjustment_is_audited(admin_client, merchant, program, customer):
    from system.models import AuditLog

    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    account = account_of(customer, merchant)
    url = reverse("admin:loyalty_pointstransaction_add")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(
        url, {"customer_loyalty_account": account.pk, "points_change": "-4", "description": "Goodwill fix"}
    )
    assert response.status_code == 302
    row = PointsTransaction.objects.get(transaction_type="adjust")
    assert (row.points_change, row.description, row.created_by.is_superuser) == (
        -4,
        "Adjusted by hand: Goodwill fix",
        True,
    )
    audit = AuditLog.objects.get(table_name="points_transactions")
    assert audit.action == "INSERT" and audit.user_id == row.created_by_id

    response = admin_client.post(
        url, {"customer_loyalty_account": account.pk, "points_change": "-7", "description": "Too much"}, follow=True
    )
    assert "The customer has 6 points: that would take the balance below zero." in response.content.decode()
    response = admin_client.post(
        url, {"customer_loyalty_account": account.pk, "points_change": "0", "description": "x"}
    )
    assert "not 0" in response.content.decode()
    assert account_of(customer, merchant).current_points == 6
