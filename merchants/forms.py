import zoneinfo

from django import forms
from django.contrib.auth import forms as auth_forms
from django.template import loader

from merchants.models import Merchant, MerchantStaff, User
from merchants.services import password_reset_limited
from system.mail import queue_email
from system.urls_util import client_ip


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(
        label="Role",
        choices=MerchantStaff.Role.choices,
        initial=MerchantStaff.Role.CASHIER,
        help_text="Owners manage staff and program rules; managers see everything else; "
        "cashiers use the counter and see today's sales.",
    )


CURRENCIES = (
    "AED ARS AUD BRL CAD CHF CLP CNY COP CZK DKK EUR GBP HKD HUF IDR ILS INR JPY KRW MXN MYR NOK NZD PEN PHP "
    "PLN SAR SEK SGD THB TRY USD VND ZAR"
).split()


def timezone_choices():
    names = sorted(name for name in zoneinfo.available_timezones() if "/" in name and not name.startswith("Etc/"))
    return [("UTC", "UTC"), *((name, name.replace("_", " ")) for name in names)]


class BusinessForm(forms.ModelForm):
    """The merchant's details; the billing email and whether printed codes are accepted are the owner's only, the
    plan the platform's."""

    OWNER_ONLY = ("business_email", "allow_static_codes", "require_2fa")

    timezone = forms.ChoiceField(
        label="Time zone",
        choices=timezone_choices,
        help_text="A merchant's day, its figures and its times are in this zone.",
    )
    currency = forms.ChoiceField(label="Currency", choices=[(c, c) for c in CURRENCIES])

    class Meta:
        model = Merchant
        fields = (
            "business_name",
            "business_type",
            "business_phone",
            "business_address",
            "business_email",
            "timezone",
            "currency",
            "allow_static_codes",
            "require_2fa",
        )
        widgets = {"business_address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not owner:
            for name in self.OWNER_ONLY:
                del self.fields[name]
        if self.instance.currency not in CURRENCIES:
            self.fields["currency"].choices += [(self.instance.currency, self.instance.currency)]
        if self.instance.pk and self.instance.transactions.exists():
            for name in ("timezone", "currency"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed once the merchant has sales: its days and figures are kept in it."

    def clean_business_email(self):
        email = self.cleaned_data["business_email"].strip().lower()
        if Merchant.objects.filter(business_email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Use another address: this one is taken.")
        return email


class CodeForm(forms.Form):
    """A code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Also for invited staff who never set a password (Django's form skips unusable passwords). Rate-limited
    (settings PASSWORD_RESET_PER_*): a refused request sends nothing and gets the same answer as any other."""

    def save(self, *args, request=None, **kwargs):
        address = client_ip(request) if request is not None else None
        if password_reset_limited(email=self.cleaned_data["email"], address=address):
            return
        super().save(*args, request=request, **kwargs)

    def get_users(self, email):
        return User.objects.filter(email=email.strip().lower(), is_active=True)

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        """Queue the message for the worker instead of sending it during the request."""
        queue_email(
            subject="".join(loader.render_to_string(subject_template_name, context).splitlines()),
            body=loader.render_to_string(email_template_name, context),
            to=[to_email],
            html_body=loader.render_to_string(html_email_template_name, context) if html_email_template_name else None,
        )
