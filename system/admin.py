"""The platform's settings and logs in the admin, and the admin base of every app's logs and ledgers."""

from django.contrib import admin

from system.models import AuditLog, FraudFlag, QRScanLog, SystemSetting


class ReadOnlyAdmin(admin.ModelAdmin):
    """For logs and ledgers: anyone may look, nobody may change a row here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    """The value is checked against its type (SystemSetting.clean, and a CHECK in the database)."""

    list_display = ["setting_key", "setting_value", "value_type", "updated_at"]
    list_filter = ["value_type"]
    search_fields = ["setting_key", "description"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "table_name", "action", "record_id", "user", "changed_fields"]
    list_filter = ["table_name", "action", "created_at"]
    search_fields = ["=record_id", "=user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(QRScanLog)
class QRScanLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "merchant", "scan_result", "scanned_code", "customer", "scanned_by", "ip_address"]
    list_filter = ["scan_result", "created_at"]
    search_fields = ["scanned_code", "=customer__customer_code", "=merchant__merchant_code", "=ip_address"]
    list_select_related = ["merchant", "customer", "scanned_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(FraudFlag)
class FraudFlagAdmin(admin.ModelAdmin):
    list_display = ["created_at", "merchant", "customer", "reason", "reviewed_at", "reviewed_by"]
    list_filter = ["reviewed_at", "created_at"]
    search_fields = ["reason", "=merchant__merchant_code", "=customer__customer_code"]
    list_select_related = ["merchant", "customer", "reviewed_by"]
    readonly_fields = ["merchant", "customer", "reason", "created_at"]

    def has_add_permission(self, request):
        return False
