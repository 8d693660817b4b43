"""Who may open what: the active merchant of a request and the role of its user there.

Every merchant page goes through MerchantRequiredMixin; every read after that takes
`self.merchant` (selectors filter by it), so another merchant's object is a 404.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import render
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import MerchantStaff

Role = MerchantStaff.Role
EVERYONE = frozenset(Role.values)
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})
OWNERS = frozenset({Role.OWNER})
SESSION_KEY = "merchant_id"


def memberships_of(user):
    """The active memberships of `user`, of merchants that are not suspended, by merchant name; each says whether
    the user has an authenticator (`user_has_second_factor`), which saves SecondFactorMiddleware a query."""
    return (
        MerchantStaff.objects.filter(user=user, is_active=True)
        .exclude(merchant__status="suspended")
        .select_related("merchant")
        .annotate(user_has_second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)))
        .order_by("merchant__business_name")
    )


def active_membership(request) -> MerchantStaff | None:
    """The membership of the merchant chosen in the switcher, else the user's first; cached on the request."""
    if not hasattr(request, "_membership"):
        membership = None
        if request.user.is_authenticated:
            memberships = list(memberships_of(request.user))
            request._memberships = memberships
            chosen = request.session.get(SESSION_KEY)
            membership = next((m for m in memberships if str(m.merchant_id) == chosen), None)
            if membership is None and memberships:
                membership = memberships[0]
        request._membership = membership
    return request._membership


def request_memberships(request) -> list[MerchantStaff]:
    """All the active memberships of the request's user (loaded with active_membership); empty when anonymous."""
    active_membership(request)
    return getattr(request, "_memberships", [])


class MerchantRequiredMixin(LoginRequiredMixin):
    """A page of the active merchant, for the roles in `roles`."""

    roles = EVERYONE

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = active_membership(request)
        if membership is None:
            return render(request, "merchants/no_merchant.html", status=403)
        if membership.role not in self.roles:
            raise PermissionDenied("Your role at this merchant does not include this page.")
        self.membership = membership
        self.merchant = membership.merchant
        return super().dispatch(request, *args, **kwargs)


def login_email(value) -> str:
    """An email as logins count it (axes, the account throttle): any case is one login."""
    return (value or "").strip().lower()[:254]


def axes_username(request, credentials) -> str:
    """The login as django-axes records failures."""
    return login_email((credentials or {}).get("username") or request.POST.get("username", ""))
