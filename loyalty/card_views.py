"""The customer's side: the card page by its secret link, and joining from a merchant's poster."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from customers import tokens
from customers.forms import JoinForm
from customers.models import Customer
from loyalty import selectors, services
from merchants.models import Merchant
from system import codes, qr
from system.settings_store import setting
from system.urls_util import site_url


def card_customer(token: str) -> Customer:
    return get_object_or_404(Customer, card_token=token)  # the URL lets only 64 hex characters through


@method_decorator(never_cache, name="dispatch")
class CardView(View):
    def get(self, request, token):
        customer = card_customer(token)
        accounts = selectors.card_balances(customer=customer)
        return render(
            request,
            "customers/card.html",
            {
                "customer": customer,
                "accounts": accounts,
                "live_qr": qr.qr_svg(tokens.card_token(customer.pk)),
                "static_qr": qr.qr_svg(customer.customer_code),
                "refresh_seconds": 60,
                "valid_minutes": max(1, setting("card.token_max_age_seconds") // 60),
            },
        )


@method_decorator(never_cache, name="dispatch")
class CardLiveQRView(View):
    """The card's QR code right now: a signed token, accepted for a few minutes."""

    def get(self, request, token):
        customer = card_customer(token)
        return HttpResponse(qr.qr_svg(tokens.card_token(customer.pk)), content_type="image/svg+xml")


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
    template = "customers/join.html"

    def merchant(self, merchant_code: str) -> Merchant:
        code = "".join(merchant_code.split()).upper()
        if not codes.is_valid(code):
            raise Http404("No such merchant.")
        return get_object_or_404(Merchant, merchant_code=code, status=Merchant.Status.ACTIVE)

    def get(self, request, merchant_code):
        return render(request, self.template, {"shop": self.merchant(merchant_code), "form": JoinForm()})

    def post(self, request, merchant_code):
        shop = self.merchant(merchant_code)
        form = JoinForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, {"shop": shop, "form": form}, status=422)
        result = services.customer_join(merchant=shop, base_url=site_url(request), **form.cleaned_data)
        if form.cleaned_data["email"]:
            # The card's link goes to the address, new card or not: the screen never tells which,
            # and nobody sees a card by typing someone else's email.
            return render(request, "customers/join_sent.html", {"shop": shop, "email": form.cleaned_data["email"]})
        return redirect("card", token=result.customer.card_token)
