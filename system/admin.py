"""The platform's settings and logs in the admin, and the admin base of every app's logs and ledgers.

Every list is newest first. The logs hold millions of rows, so their filters never read the log to list their
choices (no SELECT DISTINCT, no date hierarchy): merchants come from the merchants table, audited tables from the
catalog, and a record or customer is chosen by its id (a link in the list, or the search box), which an index finds.
The audit and scan logs are partitioned by month: their date filters ("created_at", MonthFilter) read only the
partitions of the months chosen.
"""

import ipaddress
import uuid
from datetime import UTC, datetime

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection, connections
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.html import format_html

from system import codes
from system.models import AuditLog, FraudFlag, QRScanLog, SystemSetting, audit_merchant_id
from system.settings_store import KNOWN


class EstimatedCountPaginator(Paginator):
    """The lists of logs and ledgers count their rows exactly up to EXACT_COUNT_UP_TO; above, they take the
    planner's estimate (one EXPLAIN, no rows read), shown as "about N": an exact count of a month of a busy
    log reads every row of it. Pages past an estimate too high are empty; pages past one too low still list
    their rows."""

    EXACT_COUNT_UP_TO = 10_000
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        try:
            query, params = queryset.query.get_compiler(queryset.db).as_sql()
        except EmptyResultSet:  # a filter that matches nothing (an id that is no UUID)
            return 0
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {query}", params)
            estimate = int(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])  # psycopg loads the JSON
        if estimate <= self.EXACT_COUNT_UP_TO:
            return queryset.count()
        self.estimated = True
        return estimate

    def validate_number(self, number):
        """Past an estimated last page (the estimate too low) the rows go on: any page is allowed; past the last
        row it is empty."""
        if not self.count or not self.estimated:  # the count first: it decides whether it is an estimate
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number


class ReadOnlyAdmin(admin.ModelAdmin):
    """For logs and ledgers: anyone may look, nobody may change a row here."""

    paginator = EstimatedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def as_uuid(text) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        return None


class MerchantFilter(admin.SimpleListFilter):
    """The merchants by name, read from the merchants table (a small one), never from the log."""

    title = "merchant"
    parameter_name = "merchant"

    def lookups(self, request, model_admin):
        merchants = model_admin.model._meta.get_field("merchant").related_model.objects
        return [(str(pk), name) for pk, name in merchants.order_by("business_name").values_list("pk", "business_name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = as_uuid(self.value())
        return queryset.filter(merchant_id=chosen) if chosen else queryset.none()


class MonthFilter(admin.SimpleListFilter):
    """A calendar month in UTC, the last MONTHS of them listed from the calendar (never from the log): the logs are
    partitioned by month, so a month's list reads that month's partition only."""

    title = "month (UTC)"
    parameter_name = "month"
    MONTHS = 24

    def lookups(self, request, model_admin):
        today = datetime.now(UTC).date()
        months = []
        for back in range(self.MONTHS):
            index = today.year * 12 + today.month - 1 - back
            months.append(f"{index // 12:04d}-{index % 12 + 1:02d}")
        return [(month, month) for month in months]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            start = datetime.strptime(self.value(), "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            return queryset.none()
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        return queryset.filter(created_at__gte=start, created_at__lt=end)


class AuditMerchantFilter(MerchantFilter):
    """The audit rows of one merchant: its own row and every row whose values name it (audit_merchant_id(),
    read through its index), newest first."""

    def lookups(self, request, model_admin):
        merchants = apps.get_model("merchants", "Merchant").objects  # named, as the logs' keys name it
        return [(str(pk), name) for pk, name in merchants.order_by("business_name").values_list("pk", "business_name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = as_uuid(self.value())
        return queryset.alias(merchant=audit_merchant_id()).filter(merchant=chosen) if chosen else queryset.none()


class IdFilter(admin.SimpleListFilter):
    """One object's rows, chosen by its id (a link in the list sets it): shown only while it is chosen."""

    field = ""

    def lookups(self, request, model_admin):
        chosen = as_uuid(self.value())
        return [(str(chosen), self.label(chosen))] if chosen else []

    def has_output(self):
        return self.value() is not None

    def label(self, chosen: uuid.UUID) -> str:
        return str(chosen)

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        chosen = as_uuid(self.value())
        return queryset.filter(**{self.field: chosen}) if chosen else queryset.none()


def audited_tables() -> list[str]:
    """The tables whose changes the audit trigger records, from the catalog."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'audit_row_change' ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


class AuditedTableFilter(admin.SimpleListFilter):
    title = "table"
    parameter_name = "table_name"

    def lookups(self, request, model_admin):
        return [(name, name) for name in audited_tables()]

    def queryset(self, request, queryset):
        return queryset.filter(table_name=self.value()) if self.value() else queryset


class RecordFilter(IdFilter):
    title = "record"
    parameter_name = "record"
    field = "record_id"

    def label(self, chosen):
        return f"the record {chosen}"


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    """A setting's value is checked against its type, and a setting the code reads against its range
    (SystemSetting.clean; settings_store.KNOWN). Its key and type are fixed once it exists, and no setting is
    deleted here: the code reads them."""

    list_display = ["setting_key", "setting_value", "value_type", "allowed", "updated_at"]
    list_filter = ["value_type"]
    search_fields = ["setting_key", "description"]
    ordering = ["-updated_at", "setting_key"]

    @admin.display(description="allowed values")
    def allowed(self, obj):
        known = KNOWN.get(obj.setting_key)
        return known.allowed if known else ""

    def get_readonly_fields(self, request, obj=None):
        return ["setting_key", "value_type", "created_at", "updated_at"] if obj else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        known = KNOWN.get(obj.setting_key) if obj else None
        if known:
            form.base_fields["setting_value"].help_text = f"{known.allowed.capitalize()}; {known.default} by default."
        return form

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "table_name", "action", "record", "user", "changed_fields"]
    list_filter = [AuditMerchantFilter, AuditedTableFilter, RecordFilter, "action", "created_at", MonthFilter]
    search_fields = ["=record_id", "=user__email"]
    search_help_text = "A record's id, or the email of the user who made the change."
    list_select_related = ["user"]
    ordering = ["-created_at"]
    show_full_result_count = False

    @admin.display(description="record", ordering="record_id")
    def record(self, obj):
        return format_html(
            '<a href="?table_name={}&amp;record={}">{}</a>', obj.table_name, obj.record_id, obj.record_id
        )

    def get_search_results(self, request, queryset, search_term):
        """A record id (the index of table and record, over each audited table) or a user's email."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if record_id := as_uuid(term):
            return queryset.filter(table_name__in=audited_tables(), record_id=record_id), False
        users = self.model._meta.get_field("user").related_model.objects.filter(email__iexact=term)
        return queryset.filter(user_id__in=users.values("pk")), False


class QRScanLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "merchant",
        "scan_result",
        "scanned_code",
        "customer_link",
        "scanned_by",
        "ip_address",
    ]
    search_fields = ["=scanned_code"]
    search_help_text = (
        "A customer or merchant code, an id, an IP address, a staff email; a scanned code within one merchant."
    )
    list_select_related = ["merchant", "customer", "scanned_by"]
    ordering = ["-created_at"]
    show_full_result_count = False

    class CustomerFilter(IdFilter):
        title = "customer"
        parameter_name = "customer"
        field = "customer_id"

        def label(self, chosen):
            customer = QRScanLog._meta.get_field("customer").related_model.objects.filter(pk=chosen).first()
            return str(customer) if customer else str(chosen)

    list_filter = [MerchantFilter, "scan_result", CustomerFilter, "created_at", MonthFilter]

    @admin.display(description="customer", ordering="customer")
    def customer_link(self, obj):
        if obj.customer_id is None:
            return "-"
        return format_html('<a href="?customer={}">{}</a>', obj.customer_id, obj.customer)

    def get_search_results(self, request, queryset, search_term):
        """Each kind of term by the index that finds it; a scanned code only within one merchant's scans."""
        term = search_term.strip()
        if not term:
            return queryset, False
        field = self.model._meta.get_field
        if found := as_uuid(term):
            condition = Q(pk=found) | Q(merchant_id=found) | Q(customer_id=found) | Q(scanned_by_id=found)
            return queryset.filter(condition), False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            pass
        else:
            return queryset.filter(ip_address=term), False
        # The owners are looked up first and passed as values: with the value the planner reads that owner's
        # scans from its index, newest first, where a subquery could walk the whole log by time.
        if "@" in term:
            users = field("scanned_by").related_model.objects.filter(email__iexact=term)
            return queryset.filter(scanned_by_id__in=list(users.values_list("pk", flat=True))), False
        for length, name, code_field in (
            (codes.CUSTOMER_CODE_LENGTH, "customer", "customer_code"),
            (codes.MERCHANT_CODE_LENGTH, "merchant", "merchant_code"),
        ):
            try:
                code = codes.normalize(term, length)
            except codes.CodeError:
                continue
            owners = list(field(name).related_model.objects.filter(**{code_field: code}).values_list("pk", flat=True))
            if owners:
                return queryset.filter(**{f"{name}_id__in": owners}), False
        if request.GET.get(MerchantFilter.parameter_name) is None:
            self.message_user(request, "Choose a merchant to search its scans for a scanned code.", messages.INFO)
            return queryset.none(), False
        return queryset.filter(scanned_code=term), False


admin.site.register(QRScanLog, QRScanLogAdmin)


@admin.register(FraudFlag)
class FraudFlagAdmin(admin.ModelAdmin):
    list_display = ["created_at", "merchant", "customer", "reason", "reviewed_at", "reviewed_by"]
    list_filter = [MerchantFilter, "reviewed_at", "created_at"]
    search_fields = ["reason", "=merchant__merchant_code", "=customer__customer_code"]
    list_select_related = ["merchant", "customer", "reviewed_by"]
    readonly_fields = ["merchant", "customer", "reason", "created_at"]
    ordering = ["-created_at"]

    def has_add_permission(self, request):
        return False
