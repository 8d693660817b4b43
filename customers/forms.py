import re

from django import forms


class JoinForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    email = forms.EmailField(label="Email", required=False, max_length=254)
    phone = forms.CharField(
        label="Phone",
        max_length=32,
        required=False,
        help_text="An email or a phone number, so we can send you your card.",
    )

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not re.fullmatch(r"\+?[0-9 ()-]{6,30}", phone):
            raise forms.ValidationError("Enter a phone number: digits, spaces and an optional + at the start.")
        return phone

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and "email" not in self.errors:
            self.add_error("email", "Enter an email or a phone number.")
        return data
