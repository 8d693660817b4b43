from django.contrib import admin

from api.models import ApiKey
from system.admin import MerchantFilter


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "merchant", "created_at", "last_used_at", "revoked_at"]
    list_filter = [MerchantFilter, "revoked_at"]
    ordering = ["-created_at"]
    search_fields = ["name", "prefix", "merchant__business_name"]
    readonly_fields = [f.name for f in ApiKey._meta.fields]

    def has_add_permission(self, request):
        return False  # keys are made by the merchant's owner, who sees the key once
