"""The dashboard home and the daily analytics page."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from transactions.testing import complete_sale


def test_a_new_merchant_sees_zeros_and_an_intentional_empty_state(as_role):
    response = as_role("owner").get(reverse("home"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "No sales yet" in page and "No transactions yet." in page
    assert response.context["period"].total_sales == 0


def test_todays_sale_shows_in_the_figures_and_charts(as_role, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="12.50")
    response = as_role("owner").get(reverse("home"))
    page = response.content.decode()
    today, period = response.context["today"], response.context["period"]
    assert (today.today_sales, today.today_transactions) == (Decimal("12.50"), 1)
    assert (period.total_sales, period.customers, period.new_customers, period.average_ticket) == (
        Decimal("12.50"),
        1,
        1,
        Decimal("12.50"),
    )
    for chart in ("chart-sales", "chart-points", "chart-visits"):
        assert f'data-chart="{chart}"' in page and f'id="{chart}"' in page
    assert "$12.50" in page


@pytest.mark.parametrize(("days", "expected"), [("7", 7), ("90", 90), ("1000", 30), ("abc", 30)])
def test_the_period_is_7_30_or_90_days(as_role, days, expected):
    response = as_role("owner").get(reverse("home"), {"days": days})
    assert response.status_code == 200
    assert len(response.context["period"].days) == expected


def test_home_takes_a_fixed_number_of_queries(as_role, merchant, program, customer):
    client = as_role("owner")
    for _ in range(5):
        complete_sale(merchant=merchant, customer=customer)
    counts = []
    for days in (7, 90):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("home"), {"days": days})
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 12


def test_daily_analytics_table_chart_and_csv(as_role, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="8.00")
    client = as_role("manager")
    response = client.get(reverse("daily_analytics"))
    assert response.status_code == 200
    assert 'data-chart="chart-sales"' in response.content.decode()
    rows = list(
        csv.DictReader(io.StringIO(client.get(reverse("daily_analytics"), {"_export": "csv"}).getvalue().decode()))
    )
    assert len(rows) == 1 and rows[0]["Sales"] == "8.00" and rows[0]["Transactions"] == "1"


def test_daily_analytics_range_errors_are_shown_next_to_the_fields(as_role):
    response = as_role("owner").get(reverse("daily_analytics"), {"date_from": "2026-05-10", "date_to": "2026-05-01"})
    assert "The end date is before the start date." in response.content.decode()
    response = as_role("owner").get(reverse("daily_analytics"), {"date_from": "someday"})
    assert "Enter a valid date." in response.content.decode()


def test_daily_analytics_of_a_new_merchant_is_an_intentional_empty_state(as_role):
    page = as_role("owner").get(reverse("daily_analytics")).content.decode()
    assert "No sales in these days" in page and 'data-chart="chart-sales"' not in page
