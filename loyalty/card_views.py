"""The customer's side: the card page by its secret link, and joining from a merchant's poster."""

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from customers import card_codes, tokens
from customers import selectors as customer_selectors
from customers.forms import JoinForm, PhoneCodeForm, RecoverForm
from customers.models import Customer
from customers.services import card_code_issue
from loyalty import selectors
from loyalty.services import joining
from merchants.models import Merchant
from system import codes, qr
from system.settings_store import setting
from system.urls_util import client_ip, site_url


def card_customer(token: str) -> Customer:
    """The customer whose card link carries `token` (the URL lets only 64 hex characters through); a card merged
    into another shows that one."""
    customer = customer_selectors.customer_by_card_secret(token)
    if customer is None or customer.status == Customer.Status.ERASED:
        raise Http404("No such card: the link may have been replaced by a newer one.")
    if customer.status == Customer.Status.MERGED:
        customer = customer_selectors.customer_get(customer.merged_into_id)
    return customer


def live_card_code(customer: Customer) -> str:
    """A new short code for the counter to type, shown as "ABC 123"; none for a card that is not active."""
    if customer.status != Customer.Status.ACTIVE:
        return ""
    return card_codes.display(card_code_issue(customer=customer).code)


@method_decorator(never_cache, name="dispatch")
class CardView(View):
    def get(self, request, token):
        customer = card_customer(token)
        accounts = selectors.card_balances(customer=customer)
        return render(
            request,
            "customers/card.html",
            {
                "token": token,
                "customer": customer,
                "accounts": accounts,
                "live_qr": qr.qr_svg(tokens.card_token(customer.pk)),
                "card_code": live_card_code(customer),
                "static_qr": qr.qr_svg(customer.customer_code),
                "refresh_seconds": 60,
                "valid_minutes": max(1, setting("card.token_max_age_seconds") // 60),
                "code_minutes": setting("privacy.card_code_minutes"),
            },
        )


@method_decorator(never_cache, name="dispatch")
class CardLiveQRView(View):
    """The card's QR code right now: a signed token, accepted for a few minutes, as SVG; or as JSON
    ({"qr": the SVG, "code": a new short code}), which the card page fetches every minute."""

    def get(self, request, token, fmt="svg"):
        customer = card_customer(token)
        svg = qr.qr_svg(tokens.card_token(customer.pk))
        if fmt == "json":
            return JsonResponse({"qr": svg, "code": live_card_code(customer)})
        return HttpResponse(svg, content_type="image/svg+xml")


class CardCodeView(View):
    """The printable QR code: the bare customer code, as PNG or SVG."""

    def get(self, request, token, fmt):
        customer = card_customer(token)
        if fmt == "svg":
            response = HttpResponse(qr.qr_svg(customer.customer_code), content_type="image/svg+xml")
        else:
            response = HttpResponse(qr.qr_png(customer.customer_code), content_type="image/png")
        response["Content-Disposition"] = f'inline; filename="card-{customer.customer_code}.{fmt}"'
        return response


class JoinView(View):
    """A merchant's poster leads here. Nothing is created until the customer confirms their email (a link) or
    phone (a code); the answer is the same whether or not the email or phone has a card."""

    template = "customers/join.html"

    def merchant(self, merchant_code: str) -> Merchant:
        code = "".join(merchant_code.split()).upper()
        if not codes.is_valid(code):
            raise Http404("No such merchant.")
        return get_object_or_404(Merchant, merchant_code=code, status=Merchant.Status.ACTIVE)

    def get(self, request, merchant_code):
        shop = self.merchant(merchant_code)
        return render(request, self.template, {"shop": shop, "form": JoinForm(timezone_name=shop.timezone)})

    def post(self, request, merchant_code):
        shop = self.merchant(merchant_code)
        form = JoinForm(request.POST, timezone_name=shop.timezone)
        if not form.is_valid():
            return render(request, self.template, {"shop": shop, "form": form}, status=422)
        data = form.cleaned_data
        if joining.join_limited(merchant=shop, address=client_ip(request), contact=data["email"] or data["phone"]):
            return too_many(request)
        verification = joining.join_request(merchant=shop, base_url=site_url(request), **data)
        if verification is None:
            return render(request, "customers/join_sent.html", {"shop": shop, "email": data["email"]})
        return redirect("phone_code", verification_id=verification.pk)


def too_many(request):
    return render(
        request,
        "customers/join_wait.html",
        {"message": "Too many requests from here or for this email or phone: try again in an hour."},
        status=429,
    )


@method_decorator(never_cache, name="dispatch")
class JoinConfirmView(View):
    """The link in the join email: a button (a mail scanner following the link joins nobody) that joins and
    opens the card."""

    def get(self, request, signed):
        try:
            data = joining.join_link_read(signed)
        except joining.JoinError as error:
            return render(request, "customers/join_wait.html", {"message": str(error)}, status=410)
        shop = Merchant.objects.filter(pk=data["m"]).first()
        return render(request, "customers/join_confirm.html", {"shop": shop, "email": data["e"]})

    def post(self, request, signed):
        try:
            card = joining.join_confirm_email(signed=signed)
        except joining.JoinError as error:
            return render(request, "customers/join_wait.html", {"message": str(error)}, status=410)
        return redirect("card", token=card.secret)


@method_decorator(never_cache, name="dispatch")
class PhoneCodeView(View):
    """Where a customer types the code texted to their phone, to join or to open their card."""

    template = "customers/phone_code.html"

    def get(self, request, verification_id):
        return render(request, self.template, {"form": PhoneCodeForm()})

    def post(self, request, verification_id):
        form = PhoneCodeForm(request.POST)
        if form.is_valid():
            try:
                card = joining.phone_code_confirm(verification_id=verification_id, code=form.cleaned_data["code"])
            except joining.JoinError as error:
                form.add_error("code", str(error))
            else:
                return redirect("card", token=card.secret)
        return render(request, self.template, {"form": form}, status=422)


@method_decorator(never_cache, name="dispatch")
class RecoverView(View):
    """A customer who lost their card's link gets it again through the email or phone they joined with."""

    template = "customers/recover.html"

    def get(self, request):
        return render(request, self.template, {"form": RecoverForm()})

    def post(self, request):
        form = RecoverForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, {"form": form}, status=422)
        contact = form.cleaned_data["contact"]
        if joining.join_limited(merchant=None, address=client_ip(request), contact=next(iter(contact.values()))):
            return too_many(request)
        verification = joining.recover_request(base_url=site_url(request), **contact)
        if verification is None:
            return render(request, "customers/recover_sent.html", {"email": contact["email"]})
        return redirect("phone_code", verification_id=verification.pk)


@method_decorator(never_cache, name="dispatch")
class RecoverConfirmView(View):
    def get(self, request, signed):
        return render(request, "customers/recover_confirm.html", {})

    def post(self, request, signed):
        try:
            card = joining.recover_confirm_email(signed=signed)
        except joining.JoinError as error:
            return render(request, "customers/join_wait.html", {"message": str(error)}, status=410)
        return redirect("card", token=card.secret)
