from django.contrib import admin, messages

from customers.admin import CustomerAdmin, confirmation_page
from customers.models import Customer
from merchants.models import Merchant
from system import codes
from system.admin import MerchantFilter, QRScanLogAdmin, ReadOnlyAdmin
from system.models import QRScanLog
from transactions.models import CustomerMerge, ScanPauseLift, Transaction, TransactionItem, TransactionRefund
from transactions.services.merge import MergeError, customers_merge
from transactions.services.scan import ScanPauseError, scan_pause_lift, scan_pauses


class TransactionItemInline(admin.TabularInline):
    model = TransactionItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    """Sales are made at the counter or through the API, and their status moves there: here they are read."""

    list_display = [
        "created_at",
        "merchant",
        "customer",
        "amount",
        "currency",
        "payment_method",
        "status",
        "points_earned",
    ]
    list_filter = [MerchantFilter, "status", "payment_method", "currency", "created_at"]
    search_fields = ["=id", "=customer__customer_code", "=merchant__merchant_code", "external_reference"]
    list_select_related = ["merchant", "customer"]
    inlines = [TransactionItemInline]
    ordering = ["-created_at"]
    show_full_result_count = False


@admin.register(TransactionItem)
class TransactionItemAdmin(ReadOnlyAdmin):
    list_display = ["product_name", "product_sku", "quantity", "unit_price", "total_price", "transaction"]
    search_fields = ["product_name", "product_sku", "=transaction__id"]
    ordering = ["-created_at"]
    show_full_result_count = False


@admin.register(TransactionRefund)
class TransactionRefundAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "amount",
        "points_taken_back",
        "points_given_back",
        "points_shortfall",
        "merchant",
    ]
    list_filter = [MerchantFilter, "kind", "created_at"]
    ordering = ["-created_at"]
    search_fields = ["=transaction__id", "=merchant__merchant_code"]
    list_select_related = ["merchant"]
    show_full_result_count = False


@admin.register(ScanPauseLift)
class ScanPauseLiftAdmin(ReadOnlyAdmin):
    """Who lifted which scan pause: lifted from the scan log's action, or by an owner at the counter."""

    list_display = ["created_at", "merchant", "scanned_by", "ip_address", "lifted_by"]
    list_filter = [MerchantFilter, "created_at"]
    list_select_related = ["merchant", "scanned_by", "lifted_by"]
    ordering = ["-created_at"]


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    """Customers merged into the same person's other customer: everywhere (no merchant) or at one merchant."""

    list_display = ["created_at", "source", "target", "merchant", "created_by"]
    list_filter = [MerchantFilter, "created_at"]
    list_select_related = ["source", "target", "merchant", "created_by"]
    ordering = ["-created_at"]


# The scan log is system's; lifting a pause is this app's: its admin gains the action here.
admin.site.unregister(QRScanLog)


@admin.register(QRScanLog)
class ScanLogAdmin(QRScanLogAdmin):
    actions = ["lift_scan_pauses"]

    def has_lift_permission(self, request):
        return request.user.has_perm("transactions.add_scanpauselift")

    @admin.action(description="Lift the scan pauses of these scans' users and addresses", permissions=["lift"])
    def lift_scan_pauses(self, request, queryset):
        wanted = {}
        for merchant_id, user_id, address in queryset.values_list("merchant_id", "scanned_by_id", "ip_address"):
            wanted.setdefault(merchant_id, set()).update({("user", str(user_id)), ("address", address)})
        merchants = Merchant.objects.in_bulk(wanted)
        lifted = 0
        for merchant_id, pairs in wanted.items():
            merchant = merchants[merchant_id]
            for pause in scan_pauses(merchant=merchant):
                if (pause.kind, pause.name) not in pairs:
                    continue
                try:
                    scan_pause_lift(merchant=merchant, acting_user=request.user, kind=pause.kind, name=pause.name)
                except ScanPauseError as error:
                    self.message_user(request, f"{pause} at {merchant}: {error}", messages.WARNING)
                else:
                    lifted += 1
                    self.message_user(request, f"Scanning resumes for {pause} at {merchant}.")
        if not lifted:
            self.message_user(request, "None of these scans' users or addresses is paused now.", messages.WARNING)


MERGE_INTRO = (
    "This customer is the same person as the customer whose code you give: everything of theirs (their accounts"
    " and points at every business, their sales and visits, their email and phone where the other has none) moves"
    " to that customer, and this one is kept as merged into it; their card link then shows the other customer."
    " This cannot be undone."
)


@admin.action(description="Merge into another customer…", permissions=["change"])
def merge_into_another_customer(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(
            request, "Choose exactly one customer to merge into another: nothing was merged.", messages.WARNING
        )
        return None
    answer = confirmation_page(
        modeladmin,
        request,
        queryset,
        title="Merge this customer into another?",
        intro=MERGE_INTRO,
        label="The customer code of the customer who stays",
        button="Merge",
    )
    if not isinstance(answer, str):
        return answer
    source = queryset.get()
    try:
        code = codes.normalize(answer, codes.CUSTOMER_CODE_LENGTH)
    except codes.CodeError as error:
        modeladmin.message_user(request, f"Nothing was merged: {error}", messages.ERROR)
        return None
    target = Customer.objects.filter(customer_code=code).first()
    if target is None:
        modeladmin.message_user(request, f"Nothing was merged: no customer has the code {code}.", messages.ERROR)
        return None
    try:
        customers_merge(source=source, target=target, acting_user=request.user)
    except MergeError as error:
        modeladmin.message_user(request, f"Nothing was merged: {error}", messages.ERROR)
    else:
        modeladmin.message_user(
            request, f"{source.customer_code} was merged into {target.customer_code}.", messages.SUCCESS
        )
    return None


# Customers are customers' (below this app); merging them is this app's: their admin gains the action here.
admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerWithMergeAdmin(CustomerAdmin):
    actions = [*CustomerAdmin.actions, merge_into_another_customer]
