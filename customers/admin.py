from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Case, Value, When
from django.template.response import TemplateResponse

from customers.models import Customer, ErasureRequest, PhoneDuplicate
from customers.services import (
    ErasureError,
    card_link_send,
    customer_erase,
    erasure_request_confirm,
    erasure_request_decline,
)
from system.urls_util import site_url


class ReasonForm(forms.Form):
    text = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"size": 80}))


def confirmation_page(modeladmin, request, queryset, *, title, intro, label, initial="", button):
    """Django's intermediate page for an action: the chosen rows, a text to give, and a button; returns the
    cleaned text once the form is posted, else the page (a TemplateResponse)."""
    if request.POST.get("post") == "yes":
        form = ReasonForm(request.POST)
        if form.is_valid():
            return form.cleaned_data["text"]
    else:
        form = ReasonForm(initial={"text": initial})
    form.fields["text"].label = label
    return TemplateResponse(
        request,
        "admin/customers/action_confirm.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "button": button,
            "form": form,
            "objects": list(queryset[:100]),
            "count": queryset.count(),
            "opts": modeladmin.model._meta,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        },
    )


ERASE_INTRO = (
    "Their name, email, phone, date of birth and card link are erased, and redacted from the audit and scan logs. "
    "Their sales, points history and visits stay, without the name; their points can no longer be used. "
    "This cannot be undone."
)


@admin.action(description="Erase personal data", permissions=["erase"])
def erase_personal_data(modeladmin, request, queryset):
    answer = confirmation_page(
        modeladmin,
        request,
        queryset,
        title="Erase these customers' personal data?",
        intro=ERASE_INTRO,
        label="Reason (kept in the audit log)",
        button="Yes, erase",
    )
    if not isinstance(answer, str):
        return answer
    for customer in queryset.order_by("pk"):
        code = customer.customer_code
        try:
            result = customer_erase(customer=customer, acting_user=request.user, reason=answer)
        except ErasureError as error:
            modeladmin.message_user(request, f"{code}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{code}: " + " ".join(result.lines()), messages.SUCCESS)
    return None


@admin.action(description="Send a new card link", permissions=["change"])
def send_new_card_link(modeladmin, request, queryset):
    """The link rotates and goes to the customer's email; the operator never sees it."""
    for customer in queryset.order_by("pk"):
        code = customer.customer_code
        try:
            sent = card_link_send(customer=customer, acting_user=request.user, base_url=site_url(request))
        except ErasureError as error:
            modeladmin.message_user(request, str(error), messages.WARNING)
            continue
        if sent.emailed:
            modeladmin.message_user(request, f"{code}: a new card link was emailed; the old one no longer works.")
        else:
            modeladmin.message_user(
                request,
                f"{code}: no email, so the card link was revoked; the customer gets a new one by recovering their"
                " card with their phone.",
                messages.WARNING,
            )


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
        "erased_at",
    ]
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = [erase_personal_data, send_new_card_link]

    def has_erase_permission(self, request):
        return request.user.has_perm("customers.erase_customer")

    def has_change_permission(self, request, obj=None):
        # An erased customer stays erased: nobody types personal data back into it.
        if obj is not None and obj.status == Customer.Status.ERASED:
            return False
        return super().has_change_permission(request, obj)


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    """Customers' requests from their card page: confirmed (the customer is erased) or declined with a note."""

    list_display = ["created_at", "customer", "status", "decided_by", "decided_at", "note"]
    list_filter = ["status"]
    list_select_related = ["customer", "decided_by"]
    search_fields = ["=customer__customer_code"]
    readonly_fields = ["customer", "status", "decided_by", "decided_at", "note", "created_at", "updated_at"]
    actions = ["confirm_and_erase", "decline"]
    show_full_result_count = False

    ordering = ["-created_at"]

    def get_ordering(self, request):
        # Newest first, as every list, with the pending ones (the operator's work) ahead of the decided ones.
        pending_first = Case(When(status=ErasureRequest.Status.PENDING, then=Value(0)), default=Value(1))
        return [pending_first.asc(), *self.ordering]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_erase_permission(self, request):
        return request.user.has_perm("customers.erase_customer")

    @admin.action(description="Confirm and erase", permissions=["erase"])
    def confirm_and_erase(self, request, queryset):
        pending = queryset.filter(status=ErasureRequest.Status.PENDING).select_related("customer")
        answer = confirmation_page(
            self,
            request,
            pending,
            title="Erase the personal data of these requests' customers?",
            intro=ERASE_INTRO,
            label="Type ERASE to confirm",
            button="Yes, erase",
        )
        if not isinstance(answer, str):
            return answer
        if answer.strip().upper() != "ERASE":
            self.message_user(request, "Nothing was erased: type ERASE to confirm.", messages.WARNING)
            return None
        for erasure in pending.order_by("customer_id"):
            code = erasure.customer.customer_code
            try:
                result = erasure_request_confirm(erasure_request=erasure, acting_user=request.user)
            except ErasureError as error:
                self.message_user(request, f"{code}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{code}: " + " ".join(result.lines()), messages.SUCCESS)
        return None

    @admin.action(description="Decline", permissions=["erase"])
    def decline(self, request, queryset):
        pending = queryset.filter(status=ErasureRequest.Status.PENDING).select_related("customer")
        answer = confirmation_page(
            self,
            request,
            pending,
            title="Decline these erasure requests?",
            intro="Say why: the note is kept with each request.",
            label="Note",
            button="Decline",
        )
        if not isinstance(answer, str):
            return answer
        declined = 0
        for erasure in pending:
            declined += erasure_request_decline(erasure_request=erasure, acting_user=request.user, note=answer)
        self.message_user(request, f"{declined} request(s) declined.")
        return None


@admin.register(PhoneDuplicate)
class PhoneDuplicateAdmin(admin.ModelAdmin):
    """Phones two customers shared before phones were unique: `manage.py merge_duplicate_customers` merges the
    clear pairs; the others wait here for an operator to merge (the customers' action) or leave apart."""

    list_display = ["found_at", "phone", "customer", "same_phone_as"]
    list_select_related = ["customer", "same_phone_as"]
    search_fields = ["=phone", "=customer__customer_code", "=same_phone_as__customer_code"]
    readonly_fields = ["customer", "phone", "same_phone_as", "found_at"]
    ordering = ["-found_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
