from django import forms

from merchants.models import MerchantStaff


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(
        label="Role",
        choices=MerchantStaff.Role.choices,
        initial=MerchantStaff.Role.CASHIER,
        help_text="Owners manage staff and program rules; managers see everything else; "
        "cashiers use the counter and see today's sales.",
    )
