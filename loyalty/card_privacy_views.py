"""The card page's privacy actions, reached by the card's secret link like the page itself: the customer's data
as JSON, a new link for the card (the old one stops), and a request that their data be erased, which an
operator confirms in the admin. The POSTs are rate-limited per card."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from customers.services import ErasureError, card_link_rotate, erasure_request
from loyalty.card_views import card_customer
from system.ratelimit import hit

# POSTs of one card (new link, erasure request) per hour: enough for a customer, not for a script.
POSTS_PER_HOUR = 10


def card_limited(customer) -> bool:
    """One POST of this card counted; True when it is over the hour's limit. Keyed by the customer, so a new
    link does not reset it."""
    return hit(scope="card.privacy", key=str(customer.pk), limit=POSTS_PER_HOUR, window_seconds=3600)


def too_many(request, token):
    return render(
        request,
        "loyalty/card_privacy_message.html",
        {
            "token": token,
            "title": "Too many requests",
            "message": "Too many requests for this card: try again in an hour.",
        },
        status=429,
    )


@method_decorator(never_cache, name="dispatch")
class CardDataView(View):
    """GET /card/<secret>/data.json: the customer's data as a download. `export` (customer -> dict) is handed in
    by loyalty_site/urls.py: it reads sales and visits, which live in apps above this one."""

    export = None

    def get(self, request, token):
        customer = card_customer(token)
        data = {"exported_at": timezone.now().isoformat(), **self.export(customer)}
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="my-loyalty-data-{customer.customer_code}.json"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


@method_decorator(never_cache, name="dispatch")
class CardNewLinkView(View):
    """POST /card/<secret>/new-link/: a new secret link; the old one stops working at once."""

    def post(self, request, token):
        customer = card_customer(token)
        if card_limited(customer):
            return too_many(request, token)
        secret = card_link_rotate(secret=token)
        if secret is None:  # a rotation that committed first
            return render(
                request,
                "loyalty/card_privacy_message.html",
                {"title": "Link replaced", "message": "This link was just replaced by a newer one."},
                status=404,
            )
        messages.success(
            request,
            "This is your card's new link: bookmark it. The old link no longer works, wherever it was saved or sent.",
        )
        return redirect("card", token=secret)


@method_decorator(never_cache, name="dispatch")
class CardErasureView(View):
    """GET /card/<secret>/erase/: what erasure does, and a button; POST: the request, pending until an operator
    confirms it. Asking again while one is pending gives the same answer and no second request."""

    template = "loyalty/card_erase.html"

    def get(self, request, token):
        customer = card_customer(token)
        pending = customer.erasure_requests.filter(status="pending").first()
        return render(request, self.template, {"token": token, "customer": customer, "pending": pending})

    def post(self, request, token):
        customer = card_customer(token)
        if card_limited(customer):
            return too_many(request, token)
        try:
            pending, _created = erasure_request(customer=customer)
        except ErasureError as error:
            return render(
                request,
                "loyalty/card_privacy_message.html",
                {"token": token, "title": "Not possible", "message": str(error)},
                status=409,
            )
        return render(request, self.template, {"token": token, "customer": customer, "pending": pending})
