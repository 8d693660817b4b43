"""CSV exports are streamed from a server-side cursor (memory does not grow with the rows) and cut at
EXPORT_MAX_ROWS, a limit the page shows beside the button."""

import csv
import gc
import io
import tracemalloc

from django.db import connection
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from system import tables
from system.testing import sql
from transactions.testing import complete_sale


def add_sales(merchant, count: int) -> None:
    """`count` pending sales, fast (a completed one moves points and totals, row by row)."""
    customer = CustomerFactory()
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, created_at) "
        "SELECT %s, %s, 1 + n %% 50, 'pending', now() - n * interval '1 minute' FROM generate_series(1, %s) AS n",
        [merchant.id, customer.id, count],
    )


def export_peak(client) -> tuple[int, int]:
    """(rows, peak bytes allocated while the export was made and read): the lower of two runs, as tracemalloc
    counts every thread's allocations, and another thread of the process may allocate during one of them."""
    peaks = []
    for _ in range(2):
        gc.collect()
        tracemalloc.start()
        try:
            response = client.get(reverse("transactions"), {"_export": "csv"})
            lines = sum(1 for _ in response.streaming_content)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return lines - 1, min(peaks)


def test_the_export_streams_from_a_server_side_cursor(as_role, merchant, program):
    add_sales(merchant, 3000)
    response = as_role("owner").get(reverse("transactions"), {"_export": "csv"})
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    stream = iter(response.streaming_content)
    header, first = next(stream), next(stream)
    assert header.startswith(b"Time,") and first.count(b",") == header.count(b",")
    with connection.cursor() as cursor:  # the rows not sent yet are still on the server, behind a cursor
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE statement ILIKE '%%FROM \"transactions\"%%'")
        assert cursor.fetchone()[0] == 1
    assert sum(1 for _ in stream) == 2999


def test_a_cut_export_leaves_no_cursor_open(as_role, merchant, program, settings, monkeypatch):
    monkeypatch.setattr(tables, "EXPORT_CHUNK_SIZE", 2)  # rows would wait on the server behind a cursor
    settings.EXPORT_MAX_ROWS = 5
    add_sales(merchant, 7)
    client = as_role("owner")

    cut = client.get(reverse("transactions"), {"_export": "csv"})
    assert cut.getvalue().decode().endswith('to export the rest."\r\n')
    with connection.cursor() as cursor:  # closed now, in this transaction, not by the garbage collector later
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE statement ILIKE '%%FROM \"transactions\"%%'")
        assert cursor.fetchone()[0] == 0
    assert client.get(reverse("transactions")).status_code == 200


def test_memory_does_not_grow_with_the_rows(as_role, merchant, program, monkeypatch):
    monkeypatch.setattr(tables, "EXPORT_CHUNK_SIZE", 50)  # small chunks: eight of them in the small export
    client = as_role("owner")
    add_sales(merchant, 400)
    client.get(reverse("transactions"), {"_export": "csv"}).getvalue()  # warm: imports, compiled templates
    small_rows, small_peak = export_peak(client)
    add_sales(merchant, 3600)
    large_rows, large_peak = export_peak(client)
    assert (small_rows, large_rows) == (400, 4000)
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)  # ten times the rows, not the memory


def test_an_export_past_the_limit_is_cut_and_says_so(as_role, merchant, program, settings):
    settings.EXPORT_MAX_ROWS = 5
    add_sales(merchant, 7)
    client = as_role("owner")
    rows = list(csv.reader(io.StringIO(client.get(reverse("transactions"), {"_export": "csv"}).getvalue().decode())))
    assert len(rows) == 1 + 5 + 1
    assert rows[-1] == ["Cut at 5 rows: narrow the filters, search or dates to export the rest."]
    assert "up to 5 rows; narrow the filters for more" in client.get(reverse("transactions")).content.decode()
    assert "up to 5 rows; narrow the search for more" in client.get(reverse("customers")).content.decode()
    assert "up to 5 rows; narrow the dates for more" in client.get(reverse("daily_analytics")).content.decode()

    settings.EXPORT_MAX_ROWS = 7
    rows = list(csv.reader(io.StringIO(client.get(reverse("transactions"), {"_export": "csv"}).getvalue().decode())))
    assert len(rows) == 1 + 7 and not rows[-1][0].startswith("Cut at")  # exactly the limit: nothing cut


def test_a_member_s_page_says_how_many_rows_it_shows(as_role, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="3.00")
    page = as_role("owner").get(reverse("customer", args=[customer.pk])).content.decode()
    assert "(the latest 10)" in page and "(the latest 50)" in page
