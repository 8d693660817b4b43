from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from merchants import selectors, services
from merchants.access import MANAGERS, OWNERS, SESSION_KEY, MerchantRequiredMixin, memberships_of
from merchants.forms import BusinessForm, StaffInviteForm
from merchants.models import MerchantStaff
from system.qr import qr_svg
from system.urls_util import client_ip, site_url


class SwitchMerchantView(LoginRequiredMixin, View):
    """The merchant switcher: any merchant the user is active staff of."""

    def post(self, request):
        chosen = request.POST.get("merchant", "")
        if not any(str(m.merchant_id) == chosen for m in memberships_of(request.user)):
            raise Http404("No such merchant of yours.")
        request.session[SESSION_KEY] = chosen
        return redirect("home")


class StaffView(MerchantRequiredMixin, FormView):
    roles = OWNERS
    form_class = StaffInviteForm
    template_name = "merchants/staff.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(staff=selectors.staff_list(merchant=self.merchant), **kwargs)

    def form_valid(self, form):
        if services.staff_invite_limited(
            merchant=self.merchant, email=form.cleaned_data["email"], address=client_ip(self.request)
        ):
            form.add_error("email", "Too many invitations in the last hour: try again later.")
            return self.form_invalid(form)
        try:
            membership = services.staff_invite(
                merchant=self.merchant,
                acting_user=self.request.user,
                base_url=site_url(self.request),
                **form.cleaned_data,
            )
        except services.StaffError as error:
            form.add_error("email", str(error))
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Invited {membership.user.email} as {membership.get_role_display().lower()}; "
            "they have an email to set their password.",
        )
        return redirect("staff")


class StaffDeactivateView(MerchantRequiredMixin, View):
    roles = OWNERS

    def post(self, request, pk):
        try:
            membership = services.staff_deactivate(merchant=self.merchant, membership_id=pk, acting_user=request.user)
        except MerchantStaff.DoesNotExist as error:
            raise Http404("No such staff member here.") from error
        except services.StaffError as error:
            messages.error(request, str(error))
            return redirect("staff")
        messages.success(request, f"{membership.user.email} no longer has access.")
        return redirect("staff")


class BusinessView(MerchantRequiredMixin, FormView):
    """The merchant's details: owners and managers; the billing email and printed codes for owners only."""

    roles = MANAGERS
    template_name = "merchants/business.html"
    form_class = BusinessForm

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "instance": self.merchant,
            "owner": self.membership.role == MerchantStaff.Role.OWNER,
        }

    def form_valid(self, form):
        changed = {name: form.cleaned_data[name] for name in form.changed_data if not form.fields[name].disabled}
        if changed:
            services.merchant_update(merchant=self.merchant, acting_user=self.request.user, **changed)
            messages.success(self.request, "Saved.")
            if changed.get("require_2fa"):
                messages.info(self.request, "Staff without an authenticator app set one up at their next page.")
        return redirect("business")

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="business", **kwargs)


class PosterView(MerchantRequiredMixin, TemplateView):
    """A printable poster whose QR code opens the merchant's join page."""

    roles = MANAGERS
    template_name = "merchants/poster.html"

    def get_context_data(self, **kwargs):
        join_url = site_url(self.request).rstrip("/") + reverse(
            "join", kwargs={"merchant_code": self.merchant.merchant_code}
        )
        return super().get_context_data(nav="poster", join_url=join_url, join_qr=qr_svg(join_url), **kwargs)


class FlagsView(MerchantRequiredMixin, TemplateView):
    """Patterns worth a look (e.g. many sales by one customer in minutes), for the owner."""

    roles = OWNERS
    template_name = "merchants/flags.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="flags", flags=selectors.flag_list(merchant=self.merchant), **kwargs)

    def post(self, request):
        try:
            services.flag_review(merchant=self.merchant, flag_id=request.POST.get("flag", ""), acting_user=request.user)
        except services.StaffError as error:
            messages.error(request, str(error))
        return redirect("flags")
