"""The one base table every dashboard table builds on."""

import django_tables2 as tables
from django_tables2.export import ExportMixin

from loyalty_site.templatetags.money import format_money


class BaseTable(tables.Table):
    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle bg-white mb-0"}
        empty_text = "Nothing here yet."


class MoneyColumn(tables.Column):
    """An amount in the currency of the table's merchant (table.currency)."""

    attrs = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

    def render(self, value, table):
        return format_money(value, table.currency)

    def value(self, value, table):  # CSV: the plain number
        return value


class NumberColumn(tables.Column):
    attrs = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}

    def render(self, value):
        return f"{value:,}"

    def value(self, value):
        return value


class ExportableView(ExportMixin):
    """CSV export of the filtered rows: ?_export=csv."""

    export_formats = ("csv",)
    exclude_columns = ()

    def get_export_filename(self, export_format):
        return f"{self.export_name}-{self.merchant.merchant_code}.{export_format}"
