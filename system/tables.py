"""The one base table every dashboard table builds on."""

import csv
from collections.abc import Iterator
from datetime import datetime

import django_tables2 as tables
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tables2.export import ExportMixin
from django_tables2.paginators import LazyPaginator

from system.templatetags.money import format_money

MAX_PER_PAGE = 100
EXPORT_CHUNK_SIZE = 2000  # rows fetched at a time from the export's server-side cursor
WIDE_ONLY = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}  # not on phones
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a spreadsheet should read it: local times, and text that cannot run as a formula."""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class BaseTable(tables.Table):
    """Amounts in `currency` (the merchant's), ties in sorting broken by the primary key, pages of 1 to 100."""

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle bg-white mb-0"}
        empty_text = "Nothing here yet."

    def __init__(self, *args, currency="USD", **kwargs):
        self.currency = currency
        super().__init__(*args, **kwargs)
        # Sorted by a column with equal values, pages would skip and repeat rows: the primary key breaks ties.
        data = self.data
        sort = data.order_by

        def order_by_then_pk(aliases):
            sort(aliases)
            queryset = getattr(data, "data", None)
            if hasattr(queryset, "query") and "pk" not in queryset.query.order_by:
                data.data = queryset.order_by(*queryset.query.order_by, "pk")

        data.order_by = order_by_then_pk
        self.order_by = self.order_by

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        if per_page is not None:
            per_page = max(1, min(per_page, MAX_PER_PAGE))
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)

    def as_values(self, exclude_columns=None):
        for row in super().as_values(exclude_columns):
            yield [csv_cell(value) for value in row]


class MoneyColumn(tables.Column):
    """An amount in the currency of the table's merchant (table.currency)."""

    attrs = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

    def render(self, value, table):
        return format_money(value, table.currency)

    def value(self, value, table):  # CSV: the plain number
        return value


class LocalDateTimeColumn(tables.DateTimeColumn):
    """A time shown, and exported, in the merchant's time zone."""

    def value(self, value):
        return csv_cell(value) if isinstance(value, datetime) else value


class NumberColumn(tables.Column):
    attrs = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

    def render(self, value):
        return f"{value:,}"

    def value(self, value):
        return value


class _Line:
    """csv.writer's file: hands back each line it writes."""

    def write(self, line):
        return line


def csv_lines(table: tables.Table, exclude_columns=(), max_rows: int = 0) -> Iterator[str]:
    """The table's rows as CSV lines, header first, at most `max_rows` of them (then a last line says so).

    A queryset is read through a server-side cursor, EXPORT_CHUNK_SIZE rows at a time: the rows are not all
    in memory at once, whatever their number. The lines are made while the response is sent, after the
    middleware has returned: the active time zone (the merchant's) is taken now and used then.
    """
    zone = timezone.get_current_timezone()
    source = table.data.data
    data = source[:max_rows]
    if isinstance(data, QuerySet):
        data = data.iterator(chunk_size=EXPORT_CHUNK_SIZE)
    table.data.data = data
    writer = csv.writer(_Line())

    def lines():
        # Every row read is read to the end, so a cut export leaves no server-side cursor open behind it.
        with timezone.override(zone):
            written = -1  # the header is not a row
            for row in table.as_values(exclude_columns=exclude_columns):
                yield writer.writerow(row)
                written += 1
            if written == max_rows and _has_more(source, max_rows):
                yield writer.writerow(
                    [f"Cut at {max_rows:,} rows: narrow the filters, search or dates to export the rest."]
                )

    return lines()


def _has_more(source, count: int) -> bool:
    if isinstance(source, QuerySet):
        return source[count : count + 1].exists()
    return len(source) > count


class MerchantTableMixin(ExportMixin):
    """A view of one merchant's table: amounts in its currency, CSV export of the filtered rows
    (?_export=csv; other formats show the page). The export is streamed as it is read, and cut at
    EXPORT_MAX_ROWS rows (the page says so beside its CSV button; the file's last line when it is cut)."""

    export_formats = ("csv",)
    exclude_columns = ()
    # No COUNT(*) of the merchant's rows: a page costs the same with ten thousand sales or a million.
    paginator_class = LazyPaginator

    def get_table_kwargs(self):
        return {"currency": self.merchant.currency}

    def render_to_response(self, context, **kwargs):
        if self.request.GET.get(self.export_trigger_param) not in (None, *self.export_formats):
            return super(ExportMixin, self).render_to_response(context, **kwargs)
        return super().render_to_response(context, **kwargs)

    def get_export_filename(self, export_format):
        return f"{self.export_name}-{self.merchant.merchant_code}.{export_format}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(export_max_rows=settings.EXPORT_MAX_ROWS, **kwargs)

    def get_table_pagination(self, table):
        return False if getattr(self, "exporting", False) else super().get_table_pagination(table)

    def create_export(self, export_format):
        self.exporting = True  # the whole table, not its first page
        table = self.get_table(**self.get_table_kwargs())
        lines = csv_lines(table, self.exclude_columns, settings.EXPORT_MAX_ROWS)
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.get_export_filename(export_format)}"'
        return response
