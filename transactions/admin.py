from django.contrib import admin

from transactions.models import Transaction, TransactionItem


class TransactionItemInline(admin.TabularInline):
    model = TransactionItem
    extra = 0
    readonly_fields = ["total_price"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
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
    list_filter = ["status", "payment_method", "currency", "created_at"]
    search_fields = ["=id", "=customer__customer_code", "=merchant__merchant_code", "external_reference"]
    list_select_related = ["merchant", "customer"]
    autocomplete_fields = ["merchant", "customer"]
    readonly_fields = [
        "points_earned",
        "points_rate",
        "points_reversed",
        "refunded_at",
        "cancelled_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [TransactionItemInline]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Transaction.Status.PENDING:
            return [*self.readonly_fields, "merchant", "customer", "amount", "currency", "completed_at"]
        return self.readonly_fields


@admin.register(TransactionItem)
class TransactionItemAdmin(admin.ModelAdmin):
    list_display = ["product_name", "product_sku", "quantity", "unit_price", "total_price", "transaction"]
    search_fields = ["product_name", "product_sku", "=transaction__id"]
    raw_id_fields = ["transaction"]
    show_full_result_count = False
