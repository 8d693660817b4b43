"""The second factor's pages: set up, the code after the password, new recovery codes, turning it off."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View

from merchants import two_factor
from merchants.access import request_memberships
from merchants.forms import CodeForm
from system.qr import qr_svg

NEW_CODES_KEY = "two_factor_new_codes"  # the session shows new recovery codes once


def next_url(request) -> str:
    """Where to go after: the `next` of the request when it is a page of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


class TwoFactorView(LoginRequiredMixin, View):
    """Whether the second factor is on, the recovery codes just made (shown once), and what can be done."""

    def get(self, request):
        user = request.user
        return render(
            request,
            "merchants/two_factor.html",
            {
                "enabled": two_factor.has_second_factor(user),
                "required": two_factor.required_of(user, request_memberships(request)),
                "codes_left": two_factor.recovery_codes_left(user),
                "new_codes": request.session.pop(NEW_CODES_KEY, None),
                "next": next_url(request),
                "form": CodeForm(),
            },
        )


class TwoFactorSetupView(LoginRequiredMixin, View):
    """Scan the QR code into an authenticator app, then enter a code from it."""

    def get(self, request, form=None):
        if two_factor.has_second_factor(request.user):
            return redirect("two_factor")
        device = two_factor.pending_device(request.user)
        return render(
            request,
            "merchants/two_factor_setup.html",
            {
                "qr": qr_svg(device.config_url),
                "key": two_factor.secret_for_typing(device),
                "form": form or CodeForm(),
                "required": two_factor.required_of(request.user, request_memberships(request)),
                "next": next_url(request),
            },
        )

    def post(self, request):
        if two_factor.has_second_factor(request.user):
            return redirect("two_factor")
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self.get(request, form)
        try:
            device, codes = two_factor.confirm(user=request.user, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", str(error))
            return self.get(request, form)
        two_factor.login_with(request, device)
        request.session[NEW_CODES_KEY] = codes
        messages.success(request, "Two-factor sign-in is on. Keep your recovery codes somewhere safe.")
        target = next_url(request)
        return redirect(reverse("two_factor") + (f"?{urlencode({'next': target})}" if target else ""))


class TwoFactorVerifyView(LoginRequiredMixin, View):
    """The code after the password."""

    def get(self, request, form=None):
        if request.user.is_verified():
            return redirect(next_url(request) or settings.LOGIN_REDIRECT_URL)
        if not two_factor.has_second_factor(request.user):
            return redirect("two_factor_setup")
        context = {"form": form or CodeForm(), "next": next_url(request)}
        return render(request, "merchants/two_factor_verify.html", context)

    def post(self, request):
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self.get(request, form)
        try:
            two_factor.verify(request=request, code=form.cleaned_data["code"])
        except two_factor.TwoFactorError as error:
            form.add_error("code", str(error))
            return self.get(request, form)
        left = two_factor.recovery_codes_left(request.user)
        if left < 3:
            messages.warning(request, f"{left} recovery codes left: make new ones on the two-factor page.")
        return redirect(next_url(request) or resolve_url(settings.LOGIN_REDIRECT_URL))


class TwoFactorRecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes; the old ones stop working."""

    def post(self, request):
        if not two_factor.has_second_factor(request.user):
            return redirect("two_factor_setup")
        request.session[NEW_CODES_KEY] = two_factor.new_recovery_codes(user=request.user)
        messages.success(request, "New recovery codes: the old ones no longer work.")
        return redirect("two_factor")


class TwoFactorOffView(LoginRequiredMixin, View):
    """Turn the second factor off, with a current code; not when it is required."""

    def post(self, request):
        form = CodeForm(request.POST)
        try:
            if not form.is_valid():
                raise two_factor.TwoFactorError("Enter a current code to turn two-factor sign-in off.")
            two_factor.turn_off(
                request=request, code=form.cleaned_data["code"], memberships=request_memberships(request)
            )
        except two_factor.TwoFactorError as error:
            messages.error(request, str(error))
            return redirect("two_factor")
        messages.success(request, "Two-factor sign-in is off.")
        return redirect("two_factor")
