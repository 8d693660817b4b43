"""An owner merges two members of their merchant who are the same person: pick the other member, confirm, merge."""

import uuid

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount
from merchants.access import OWNERS, MerchantRequiredMixin
from system.codes import mask_code
from transactions.services.merge import MergeError, members_merge

CHOICES_SHOWN = 20


def members_here(merchant):
    return CustomerLoyaltyAccount.objects.filter(merchant=merchant).select_related("customer")


def merge_candidates(*, merchant, source_id, search: str = ""):
    """This merchant's other members who can take a merge, by name; an email only where they shared it here."""
    qs = members_here(merchant).exclude(customer_id=source_id)
    qs = qs.exclude(customer__status__in=[Customer.Status.MERGED, Customer.Status.ERASED])
    for word in search.split():
        qs = qs.filter(
            Q(customer__first_name__icontains=word)
            | Q(customer__last_name__icontains=word)
            | Q(shares_email=True, customer__email__icontains=word)
            | Q(customer__customer_code=word.replace("-", "").upper())
        )
    return qs.order_by("customer__last_name", "customer__first_name", "customer_id")[:CHOICES_SHOWN]


def side(account: CustomerLoyaltyAccount) -> dict:
    """What the owner sees of a member: name, points here, the masked code; an email only if shared here."""
    customer = account.customer
    return {
        "customer_id": customer.pk,
        "name": f"{customer.first_name} {customer.last_name}".strip() or "(no name)",
        "points": account.current_points,
        "masked_code": mask_code(customer.customer_code),
        "email": customer.email if account.shares_email else "",
    }


class MemberMergeView(MerchantRequiredMixin, TemplateView):
    """GET without `into`: choose the member to merge into (search by name); GET with `into`: the confirmation;
    POST with `into`: the merge. Both customers must be members here (404 otherwise)."""

    roles = OWNERS
    template_name = "transactions/member_merge.html"

    def account(self, customer_id) -> CustomerLoyaltyAccount:
        return get_object_or_404(members_here(self.merchant), customer_id=customer_id)

    def target_account(self, request) -> CustomerLoyaltyAccount | None:
        text = (request.POST if request.method == "POST" else request.GET).get("into", "")
        if not text:
            return None
        try:
            target_id = uuid.UUID(text.strip())
        except ValueError:
            raise Http404("No such member here.") from None
        return self.account(target_id)

    def get(self, request, pk):
        source = self.account(pk)
        target = self.target_account(request)
        if target is None:
            search = request.GET.get("q", "").replace("\x00", "")[:100]
            candidates = merge_candidates(merchant=self.merchant, source_id=source.customer_id, search=search)
            context = {"candidates": [side(account) for account in candidates], "search": search}
        else:
            context = {"target": side(target)}
        return self.render_to_response(self.get_context_data(nav="customers", source=side(source), **context))

    def post(self, request, pk):
        source = self.account(pk)
        target = self.target_account(request)
        if target is None:
            messages.error(request, "Choose the member to merge into.")
            return redirect("customer_merge", pk=source.customer_id)
        try:
            members_merge(
                merchant=self.merchant, source=source.customer, target=target.customer, acting_user=request.user
            )
        except MergeError as error:
            messages.error(request, f"Nothing was merged: {error}")
            return redirect("customer", pk=source.customer_id)
        source_side, target_side = side(source), side(target)
        messages.success(
            request,
            f"{source_side['name']} ({source_side['masked_code']}) was merged into {target_side['name']}"
            f" ({target_side['masked_code']}): their points, sales and visits here are now this member's.",
        )
        return redirect("customer", pk=target.customer_id)
