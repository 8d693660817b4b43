from django import forms
from django.contrib.auth import forms as auth_forms

from merchants.models import Merchant, MerchantStaff, User


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(
        label="Role",
        choices=MerchantStaff.Role.choices,
        initial=MerchantStaff.Role.CASHIER,
        help_text="Owners manage staff and program rules; managers see everything else; "
        "cashiers use the counter and see today's sales.",
    )


class BusinessForm(forms.ModelForm):
    """The merchant's details; billing fields are the owner's only."""

    BILLING = ("business_email", "subscription_plan")

    class Meta:
        model = Merchant
        fields = (
            "business_name",
            "business_type",
            "business_phone",
            "business_address",
            "business_email",
            "subscription_plan",
            "timezone",
            "currency",
            "allow_static_codes",
        )
        widgets = {"business_address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, billing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not billing:
            for name in self.BILLING:
                del self.fields[name]
        if self.instance.pk and self.instance.transactions.exists():
            for name in ("timezone", "currency"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed once the merchant has sales: its days and figures are kept in it."


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Also for invited staff who never set a password (Django's form skips unusable passwords)."""

    def get_users(self, email):
        return User.objects.filter(email=email.strip().lower(), is_active=True)
