"""The counter page: scan a card, take the sale, show the receipt."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from customers.phones import PhoneError
from loyalty import selectors as loyalty_selectors
from merchants.access import MANAGERS, MerchantRequiredMixin
from system import codes
from system.settings_store import setting
from system.urls_util import client_ip
from transactions import selectors
from transactions.forms import CheckoutForm, ItemFormSet
from transactions.services.checkout import Checkout, CheckoutError, Item, checkout_complete
from transactions.services.scan import ScanPauseError, scan_by_phone, scan_pause_lift, scan_pauses, scan_resolve
from transactions.views import CashierTodayMixin


def customer_panel(merchant, customer, member_at) -> dict:
    """What the cashier sees of a scanned customer: name, printed code masked, points here, status, last visit.

    `member_at(merchant=, customer=)` gives the customer's figures here (current_points, last_visit_at,
    loyalty_status), or None for a customer new here.
    """
    member = member_at(merchant=merchant, customer=customer)
    last_visit = member.last_visit_at if member else None
    standing = loyalty_selectors.account_standing(merchant=merchant, customer_id=customer.pk)
    return {
        "id": str(customer.pk),
        "name": customer.full_name,
        "code": codes.mask_code(customer.customer_code),  # enough to tell two cards apart, not to use one
        "points": member.current_points if member else 0,
        "status": member.loyalty_status.replace("_", " ") if member else "new here",
        "tier": f"{standing.tier} ×{standing.multiplier:.2f}" if standing.tier else "",
        "last_visit": timezone.localtime(last_visit).strftime("%-d %b %Y") if last_visit else "first visit",
    }


def counter_context(merchant, *, form=None, items=None, customer=None, member_at=None) -> dict:
    program = loyalty_selectors.program_active(merchant=merchant)
    return {
        "nav": "scan",
        "form": form or CheckoutForm(),
        "items": items or ItemFormSet(prefix="items"),
        "program": program,
        "customer": customer_panel(merchant, customer, member_at) if customer else None,
        "rules": {
            "point_value": str(program.point_value),
            "min_points": program.min_redemption_points,
            "max_percent": str(program.max_redemption_percent),
            "currency": merchant.currency,
        }
        if program
        else None,
    }


class ScanView(MerchantRequiredMixin, TemplateView):
    """The counter; owners and managers also see the scan pauses running here, each with a button to lift it."""

    template_name = "transactions/scan.html"

    def get_context_data(self, **kwargs):
        pauses = scan_pauses(merchant=self.merchant) if self.membership.role in MANAGERS else []
        return super().get_context_data(**counter_context(self.merchant), pauses=pauses, **kwargs)


class ScanPauseLiftView(MerchantRequiredMixin, View):
    """POST {kind: user|address, name: the user's id or the address}: lift that scan pause here."""

    roles = MANAGERS

    def post(self, request):
        try:
            lift = scan_pause_lift(
                merchant=self.merchant,
                acting_user=request.user,
                kind=request.POST.get("kind", ""),
                name=request.POST.get("name", ""),
            )
        except ScanPauseError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Scanning resumes for {lift.scanned_by or lift.ip_address}.")
        return redirect("scan")


class CustomerPanelMixin:
    """A view that shows a scanned customer's figures here. They are kept by analytics, an app above this one:
    loyalty_site.urls passes its selector in as `member_at` (see customer_panel)."""

    member_at = None


class ScanResolveView(MerchantRequiredMixin, CustomerPanelMixin, View):
    """POST {code}: the customer behind a scanned or typed code, as JSON; every attempt is logged."""

    def post(self, request):
        outcome = scan_resolve(
            merchant=self.merchant,
            user=request.user,
            text=request.POST.get("code", ""),
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return self.answer(outcome)

    def answer(self, outcome, **extra):
        body = {"ok": outcome.ok, "result": outcome.result, "message": outcome.message}
        if outcome.ok:
            body["scan"] = str(outcome.log.pk)
            body["customer"] = customer_panel(self.merchant, outcome.customer, self.member_at)
            body.update(extra)
        return JsonResponse(body, status=200 if outcome.ok else 422)


class ScanPhoneView(ScanResolveView):
    """POST {phone}: the member here with this phone number, answered as a scan; the cashier confirms the name
    with the customer before the sale (`confirm`: true)."""

    def post(self, request):
        try:
            outcome = scan_by_phone(
                merchant=self.merchant,
                user=request.user,
                text=request.POST.get("phone", ""),
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except PhoneError as error:
            return JsonResponse({"ok": False, "result": "invalid_phone", "message": str(error)}, status=422)
        return self.answer(outcome, confirm=True)


class CheckoutView(MerchantRequiredMixin, CustomerPanelMixin, View):
    def post(self, request):
        form = CheckoutForm(request.POST)
        items = ItemFormSet(request.POST, prefix="items")
        if form.is_valid() and items.is_valid():
            checkout = Checkout(
                scan_id=form.cleaned_data["scan"],
                customer_id=form.cleaned_data["customer"],
                amount=form.cleaned_data["amount"],
                payment_method=form.cleaned_data["payment_method"],
                points_to_redeem=form.cleaned_data["points_to_redeem"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                items=[Item(**f.cleaned_data) for f in items if f.cleaned_data],
            )
            try:
                sale, _ = checkout_complete(merchant=self.merchant, user=request.user, checkout=checkout)
            except CheckoutError as error:
                form.add_error(None, str(error))
            else:
                return redirect("receipt", pk=sale.pk)
        # Show the customer again only for a scan of theirs by this cashier, here, still open.
        scan = selectors.scan_for_checkout(
            merchant=self.merchant,
            user=request.user,
            scan_id=request.POST.get("scan"),
            minutes=setting("scan.checkout_minutes"),
        )
        customer = scan.customer if scan else None
        context = counter_context(self.merchant, form=form, items=items, customer=customer, member_at=self.member_at)
        return render(request, "transactions/scan.html", context, status=422)


class ReceiptView(MerchantRequiredMixin, CashierTodayMixin, TemplateView):
    template_name = "transactions/receipt.html"

    def get_context_data(self, **kwargs):
        sale = selectors.transaction_get(merchant=self.merchant, pk=self.kwargs["pk"], today_only=self.today_only)
        return super().get_context_data(
            nav="scan",
            sale=sale,
            items=selectors.transaction_items(sale=sale),
            balance=selectors.balance_after_sale(sale=sale),
            **kwargs,
        )
