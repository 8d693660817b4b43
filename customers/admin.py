from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "customer_code",
        "first_name",
        "last_name",
        "email",
        "status",
        "total_spent",
        "total_transactions",
        "last_visit_at",
    ]
    list_filter = ["status"]
    search_fields = ["=customer_code", "first_name", "last_name", "email", "phone"]
    readonly_fields = [
        "customer_code",
        "total_spent",
        "total_transactions",
        "last_visit_at",
        "created_at",
        "updated_at",
    ]
    ordering = ["-created_at"]
    show_full_result_count = False
