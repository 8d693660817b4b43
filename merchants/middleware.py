import zoneinfo

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils import timezone

from merchants import two_factor
from merchants.access import active_membership, request_memberships
from system.urls_util import is_api_request


class MerchantTimezoneMiddleware:
    """Show times in the active merchant's time zone: a merchant's day is its local day."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = active_membership(request) if request.user.is_authenticated else None
        if membership is None:
            return self.get_response(request)
        with timezone.override(zoneinfo.ZoneInfo(membership.merchant.timezone)):
            return self.get_response(request)


# Pages a user who still owes a second factor may open: its own pages and logging out.
SECOND_FACTOR_PAGES = frozenset({"two_factor_verify", "two_factor_setup", "logout"})


class SecondFactorMiddleware:
    """After the password, who must give a second factor (merchants/two_factor.py) gets no other page until they
    do: to the code page if they have an authenticator, to setting one up if it is required and they have none.
    The API (/api/, its own keys) is not concerned."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api_request(request):  # before request.user: the API's requests load no session
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if request.resolver_match.url_name in SECOND_FACTOR_PAGES:
            return None
        memberships = request_memberships(request)
        if two_factor.has_second_factor(user, memberships):
            page = "two_factor_verify"
        elif two_factor.required_of(user, memberships):
            page = "two_factor_setup"
        else:
            return None
        return redirect_to_login(request.get_full_path(), reverse(page))
