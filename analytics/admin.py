from django.contrib import admin

from analytics.models import CustomerVisit, MerchantDailyAnalytics, MerchantHourlyAnalytics
from system.admin import MerchantFilter, ReadOnlyAdmin


@admin.register(MerchantDailyAnalytics)
class MerchantDailyAnalyticsAdmin(ReadOnlyAdmin):
    """Figures kept by the database; `manage.py rebuild_analytics` recomputes them."""

    list_display = [
        "date",
        "merchant",
        "total_sales",
        "total_transactions",
        "unique_customers",
        "new_customers",
        "points_issued",
        "points_redeemed",
        "total_refunds",
        "average_transaction_value",
    ]
    list_filter = [MerchantFilter, "date"]
    search_fields = ["merchant__business_name", "=merchant__merchant_code"]
    list_select_related = ["merchant"]
    ordering = ["-date"]
    show_full_result_count = False


@admin.register(CustomerVisit)
class CustomerVisitAdmin(ReadOnlyAdmin):
    list_display = ["visit_date", "customer", "merchant", "visit_count", "total_spent", "last_visit_at"]
    list_filter = [MerchantFilter, "visit_date"]
    search_fields = ["=customer__customer_code", "=merchant__merchant_code"]
    list_select_related = ["customer", "merchant"]
    ordering = ["-visit_date"]
    show_full_result_count = False


@admin.register(MerchantHourlyAnalytics)
class MerchantHourlyAnalyticsAdmin(ReadOnlyAdmin):
    list_display = ["date", "hour", "merchant", "total_transactions"]
    list_filter = [MerchantFilter, "date"]
    search_fields = ["=merchant__merchant_code"]
    list_select_related = ["merchant"]
    ordering = ["-date", "-hour"]
    show_full_result_count = False
