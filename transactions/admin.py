from django.contrib import admin, messages

from merchants.models import Merchant
from system.admin import MerchantFilter, QRScanLogAdmin, ReadOnlyAdmin
from system.models import QRScanLog
from transactions.models import CustomerMerge, ScanPauseLift, Transaction, TransactionItem, TransactionRefund
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
