"""How long a staff session lasts (settings: SESSION_MAX_HOURS, SESSION_IDLE_MINUTES, SESSION_CASHIER_SHIFT_HOURS).

At login the session keeps the login time, the time of the latest request and which rule applies: "shift"
for a user who is only ever a cashier (a counter device sits idle between customers: SESSION_CASHIER_SHIFT_HOURS
from logging in), "idle" for everyone else (owners, managers, platform admins: SESSION_IDLE_MINUTES without a
request). Every session ends SESSION_MAX_HOURS after logging in, however busy: the middleware checks the stored
login time, as the cookie's and the database's expiry move on with each save. The latest request's time is
saved at most once a minute, and the rule is worked out again then, so a promotion applies within a minute
without a query per request. The API (/api/, API keys) does not use sessions and is left alone.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

from merchants.models import MerchantStaff

LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
RULE = "session_rule"
SEEN_EVERY_SECONDS = 60
SKIPPED_PREFIXES = ("/api/", "/static/")


def session_rule(user) -> str:
    """'shift' for a user who is a cashier at each merchant they are active staff of, else 'idle'."""
    if user.is_staff or user.is_superuser:
        return "idle"
    roles = set(MerchantStaff.objects.filter(user=user, is_active=True).values_list("role", flat=True))
    return "shift" if roles == {MerchantStaff.Role.CASHIER} else "idle"


def session_started(sender, request, user, **kwargs):
    """user_logged_in: the session's clock starts now."""
    if request is None or not hasattr(request, "session"):
        return
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    request.session[RULE] = session_rule(user)


def ended_because(session, now: float) -> str | None:
    """Why a logged-in session is over at `now` (a sentence for the login page), or None while it lasts."""
    login_at, seen_at, rule = session.get(LOGIN_AT), session.get(SEEN_AT), session.get(RULE)
    if not isinstance(login_at, int) or not isinstance(seen_at, int) or rule not in ("idle", "shift"):
        return "Please log in again."  # a session from before these rules
    if now - login_at >= settings.SESSION_MAX_HOURS * 3600:
        return f"You were logged out {settings.SESSION_MAX_HOURS} hours after logging in. Please log in again."
    if rule == "shift" and now - login_at >= settings.SESSION_CASHIER_SHIFT_HOURS * 3600:
        return (
            f"You were logged out at the end of a {settings.SESSION_CASHIER_SHIFT_HOURS}-hour shift. "
            "Please log in again."
        )
    if rule == "idle" and now - seen_at >= settings.SESSION_IDLE_MINUTES * 60:
        return (
            f"You were logged out after {settings.SESSION_IDLE_MINUTES} minutes without activity. Please log in again."
        )
    return None


class SessionPolicyMiddleware:
    """Ends a session past its time: logs out, says why, and sends a page request to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(SKIPPED_PREFIXES) or not request.user.is_authenticated:
            return self.get_response(request)
        now = int(time.time())
        reason = ended_because(request.session, now)
        if reason is not None:
            logout(request)
            for cached in ("_membership", "_memberships"):  # merchants.access caches them on the request
                request.__dict__.pop(cached, None)
            messages.warning(request, reason)
            if request.method in ("GET", "HEAD"):
                return redirect_to_login(request.get_full_path())
            return self.get_response(request)  # a form or a counter's request: answered as for anyone logged out
        if now - request.session[SEEN_AT] >= SEEN_EVERY_SECONDS:
            request.session[SEEN_AT] = now
            request.session[RULE] = session_rule(request.user)
        return self.get_response(request)
