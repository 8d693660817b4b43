from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from merchants.models import Merchant, MerchantStaff, User
from system.admin import MerchantFilter


class MerchantStaffInline(admin.TabularInline):
    model = MerchantStaff
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = [
        "business_name",
        "merchant_code",
        "business_email",
        "status",
        "subscription_plan",
        "timezone",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "subscription_plan", "currency", "timezone"]
    search_fields = ["business_name", "business_email", "=merchant_code"]
    readonly_fields = ["merchant_code", "created_at", "updated_at"]
    inlines = [MerchantStaffInline]
    ordering = ["-created_at"]


@admin.register(MerchantStaff)
class MerchantStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role", "is_active"]
    list_filter = [MerchantFilter, "role", "is_active"]
    search_fields = ["user__email", "merchant__business_name", "=merchant__merchant_code"]
    autocomplete_fields = ["user", "merchant"]
    list_select_related = ["user", "merchant"]
    ordering = ["-created_at"]


class UserCreationForm(auth_forms.BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["-date_joined"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    inlines = [MerchantStaffInline]
