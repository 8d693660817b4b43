from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect

from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram, LoyaltyTier, PointsLot, PointsTransaction
from loyalty.services import AdjustmentError, points_adjust
from system.admin import MerchantFilter, ReadOnlyAdmin


class LoyaltyTierInline(admin.TabularInline):
    model = LoyaltyTier
    extra = 0
    fields = ["name", "min_points", "multiplier"]


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(admin.ModelAdmin):
    inlines = [LoyaltyTierInline]
    list_display = [
        "name",
        "merchant",
        "points_per_dollar",
        "min_spend_amount",
        "point_value",
        "max_redemption_percent",
        "points_expiry_days",
        "is_active",
    ]
    list_filter = [MerchantFilter, "is_active", "rounding"]
    ordering = ["-created_at"]
    search_fields = ["name", "merchant__business_name", "=merchant__merchant_code"]
    autocomplete_fields = ["merchant"]


@admin.register(CustomerLoyaltyAccount)
class CustomerLoyaltyAccountAdmin(admin.ModelAdmin):
    """Points are read-only here: they move through the ledger (an adjustment row) only."""

    list_display = [
        "customer",
        "merchant",
        "current_points",
        "total_points_earned",
        "total_points_redeemed",
        "total_spent",
        "last_visit_at",
    ]
    search_fields = ["=customer__customer_code", "customer__email", "=merchant__merchant_code"]
    list_select_related = ["customer", "merchant"]
    list_filter = [MerchantFilter]
    ordering = ["-created_at"]
    readonly_fields = [
        "customer",
        "merchant",
        "current_points",
        "total_points_earned",
        "total_points_redeemed",
        "total_spent",
        "total_transactions",
        "last_visit_at",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # the first completed sale opens the account

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=form.changed_data or None)  # never write the figures the triggers keep


class AdjustmentForm(forms.ModelForm):
    """An adjustment by an admin: points in or out of one account, with a reason."""

    description = forms.CharField(label="Reason", max_length=200)

    class Meta:
        model = PointsTransaction
        fields = ["customer_loyalty_account", "points_change", "description"]

    def clean_points_change(self):
        points = self.cleaned_data["points_change"]
        if not points or not -1_000_000 <= points <= 1_000_000:
            raise forms.ValidationError("From -1,000,000 to 1,000,000 points, not 0.")
        return points


@admin.register(PointsTransaction)
class PointsTransactionAdmin(ReadOnlyAdmin):
    """The ledger is read-only; an admin may add an adjustment (with a reason), which names them."""

    add_form = AdjustmentForm
    autocomplete_fields = ["customer_loyalty_account"]

    def has_add_permission(self, request):
        return request.user.has_perm("loyalty.add_pointstransaction")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return AdjustmentForm.Meta.fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except AdjustmentError as error:
            messages.error(request, str(error))
            return redirect(request.path)

    def save_model(self, request, obj, form, change):
        account = form.cleaned_data["customer_loyalty_account"]
        saved = points_adjust(
            merchant=account.merchant,
            customer_id=account.customer_id,
            points_change=form.cleaned_data["points_change"],
            reason=form.cleaned_data["description"],
            acting_user=request.user,
        )
        obj.pk = saved.pk

    list_display = [
        "created_at",
        "transaction_type",
        "points_change",
        "balance_after",
        "customer_loyalty_account",
        "description",
    ]
    list_filter = ["transaction_type", "created_at"]
    ordering = ["-created_at"]
    search_fields = ["=customer_loyalty_account__customer__customer_code", "=transaction__id", "description"]
    list_select_related = ["customer_loyalty_account__customer", "customer_loyalty_account__merchant"]
    show_full_result_count = False


@admin.register(LoyaltyTier)
class LoyaltyTierAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "min_points", "multiplier"]
    search_fields = ["name", "program__name", "=program__merchant__merchant_code"]
    list_select_related = ["program__merchant"]
    autocomplete_fields = ["program"]
    ordering = ["-created_at"]


class LotForm(forms.ModelForm):
    class Meta:
        model = PointsLot
        fields = ["expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at < self.instance.earned_at:
            raise forms.ValidationError("A lot cannot expire before its points came in.")
        return expires_at


@admin.register(PointsLot)
class PointsLotAdmin(admin.ModelAdmin):
    """Lots are kept by the ledger; an operator may only move a lot's expiry date."""

    list_display = ["earned_at", "customer_loyalty_account", "points", "remaining", "expires_at"]
    ordering = ["-earned_at"]
    form = LotForm
    list_filter = ["earned_at", "expires_at"]
    search_fields = ["=customer_loyalty_account__customer__customer_code"]
    list_select_related = ["customer_loyalty_account__customer", "customer_loyalty_account__merchant"]
    readonly_fields = ["customer_loyalty_account", "entry", "points", "remaining", "earned_at"]
    fields = readonly_fields + ["expires_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=["expires_at"])
