"""The transactions table: filters, CSV of the filtered rows, a fixed number of queries, cashiers' today."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from merchants.tests.factories import BUSINESS
from system.testing import sql
from transactions.models import Transaction
from transactions.testing import complete_sale


@pytest.fixture
def sales(merchant, program):
    alice, bob = CustomerFactory(first_name="Alice", last_name="Archer"), CustomerFactory(first_name="Bob")
    made = [
        complete_sale(merchant=merchant, customer=alice, amount="5.00", payment_method="cash"),
        complete_sale(merchant=merchant, customer=alice, amount="50.00", payment_method="card"),
        complete_sale(merchant=merchant, customer=bob, amount="20.00", payment_method="card"),
    ]
    Transaction.objects.filter(pk=made[1].pk).update(status="refunded")
    return {"alice": alice, "bob": bob, "sales": made}


def rows(response):
    table = response.context["table"]
    assert not table.page.has_next()  # the cases below fit on one page
    return len(table.page.object_list)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, 3),
        ({"status": "refunded"}, 1),
        ({"payment_method": "card"}, 2),
        ({"amount_min": "10"}, 2),
        ({"amount_min": "10", "amount_max": "30"}, 1),
        ({"customer": "alice"}, 2),
        ({"customer": "Alice Archer"}, 2),
        ({"date_from": "2000-01-01", "date_to": "2000-01-31"}, 0),
    ],
)
def test_filters(as_role, sales, query, expected):
    assert rows(as_role("owner").get(reverse("transactions"), query)) == expected


def test_filter_by_customer_code(as_role, sales):
    code = sales["bob"].customer_code
    assert rows(as_role("owner").get(reverse("transactions"), {"customer": code.lower()})) == 1


def test_date_filter_uses_the_merchants_local_day(as_role, merchant, customer):
    merchant.timezone = "America/New_York"
    merchant.save()
    # 03:30 UTC on March 10 is 23:30 on March 9 in New York
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, created_at) "
        "VALUES (%s, %s, 10, 'pending', '2026-03-10 03:30+00')",
        [merchant.id, customer.id],
    )
    client = as_role("owner")
    assert rows(client.get(reverse("transactions"), {"date_from": "2026-03-09", "date_to": "2026-03-09"})) == 1
    assert rows(client.get(reverse("transactions"), {"date_from": "2026-03-10"})) == 0


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2026-13-45"}, "date_from", "Enter a valid date."),
        ({"amount_min": "lots"}, "amount_min", "Enter a number."),
        ({"amount_min": "-5"}, "amount_min", "greater than or equal to 0"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to", "The end date is before the start date."),
        ({"amount_min": "50", "amount_max": "10"}, "amount_max", "The upper amount is below the lower one."),
        ({"status": "stolen"}, "status", "Select a valid choice."),
    ],
)
def test_bad_filters_are_explained_next_to_the_field(as_role, sales, query, field, message):
    response = as_role("owner").get(reverse("transactions"), query)
    assert response.status_code == 200
    assert message in " ".join(response.context["filter"].form.errors[field])
    assert message in response.content.decode()


def test_csv_export_has_the_filtered_rows(as_role, sales):
    response = as_role("owner").get(reverse("transactions"), {"payment_method": "card", "_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    table = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(table) == 2
    assert {row["Amount"] for row in table} == {"50.00", "20.00"}
    assert {row["Status"] for row in table} == {"refunded", "completed"}


def test_the_list_takes_the_same_number_of_queries_for_any_page_size(as_role, merchant, program):
    client = as_role("owner")
    customers = CustomerFactory.create_batch(3)
    for i in range(40):
        complete_sale(merchant=merchant, customer=customers[i % 3], amount=f"{i + 1}.00")

    counts = []
    for per_page in (5, 40):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("transactions"), {"per_page": per_page})
        assert len(response.context["table"].page.object_list) == per_page
        counts.append(len(queries))
        # no COUNT(*) of the merchant's sales: the page costs the same whatever their number
        assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts[0] == counts[1] <= 6
    page = client.get(reverse("transactions"), {"per_page": 5}).content.decode()
    assert "?page=2" in page or "page=2" in page  # a next page, without knowing how many


def test_the_detail_shows_items_points_and_history(as_role, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="7.50")
    sale.items.create(product_name="Flat white", quantity=2, unit_price=Decimal("3.75"))
    Transaction.objects.filter(pk=sale.pk).update(status="refunded")
    client = as_role("owner")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("transaction", args=[sale.pk]))
    page = response.content.decode()
    assert "Flat white" in page and "$7.50" in page
    assert ">earn<" in page and ">reverse<" in page
    assert "completed → <strong>refunded</strong>" in page
    assert len(queries) <= 8  # sale, items, points, refunds, history, session, user, membership


def test_cashiers_see_todays_transactions_only(as_role, merchant, customer):
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, created_at) "
        "VALUES (%s, %s, 10, 'pending', %s)",
        [merchant.id, customer.id, datetime.now(UTC) - timedelta(days=2)],
    )
    old = Transaction.objects.get()
    today = complete_sale(merchant=merchant, customer=customer)
    client = as_role("cashier")
    response = client.get(reverse("transactions"))
    assert [row.record.pk for row in response.context["table"].page.object_list] == [today.pk]
    assert client.get(reverse("transaction", args=[today.pk])).status_code == 200
    assert client.get(reverse("transaction", args=[old.pk])).status_code == 404
    assert as_role("manager").get(reverse("transaction", args=[old.pk])).status_code == 200


def test_sorting_by_a_column_with_ties_pages_through_every_row_once(as_role, merchant, program, customer):
    for _ in range(7):
        complete_sale(merchant=merchant, customer=customer, amount="5.00")
    client = as_role("owner")
    seen = []
    for page in (1, 2, 3):
        response = client.get(reverse("transactions"), {"sort": "amount", "per_page": 3, "page": page})
        seen += [row.record.pk for row in response.context["table"].page.object_list]
    assert len(seen) == len(set(seen)) == 7


def test_the_csv_has_local_times_and_no_formulas(as_role, merchant, program):
    from customers.tests.factories import CustomerFactory

    merchant.timezone = "Asia/Tokyo"
    merchant.save()
    sneaky = CustomerFactory(first_name='=HYPERLINK("http://evil.test")', last_name="")
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, completed_at, created_at) "
        "VALUES (%s, %s, 10, 'completed', '2026-03-09 15:30+00', '2026-03-09 15:30+00')",
        [merchant.id, sneaky.id],
    )
    [row] = csv.DictReader(
        io.StringIO(as_role("owner").get(reverse("transactions"), {"_export": "csv"}).getvalue().decode())
    )
    assert row["Time"] == "2026-03-10 00:30:00"
    assert row["Customer"].startswith("'=HYPERLINK")


# The Business page (its other tests: merchants/tests/test_access.py)


def test_time_zone_and_currency_are_fixed_once_there_are_sales(as_role, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer)
    response = as_role("owner").post(
        reverse("business"), {**BUSINESS, "subscription_plan": "basic", "business_email": merchant.business_email}
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.business_name, merchant.timezone, merchant.currency) == ("Renamed Café", "UTC", "USD")
