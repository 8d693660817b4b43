"""The one base table every dashboard table builds on."""

from datetime import datetime

import django_tables2 as tables
from django.core.paginator import Paginator
from django.utils import timezone
from django_tables2.export import ExportMixin
from django_tables2.paginators import LazyPaginator

from system.templatetags.money import format_money

MAX_PER_PAGE = 100
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


class MerchantTableMixin(ExportMixin):
    """A view of one merchant's table: amounts in its currency, CSV export of the filtered rows
    (?_export=csv; other formats show the page)."""

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
