from django import forms

from customers import phones


class JoinForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100, required=False)
    email = forms.EmailField(label="Email", required=False, max_length=254)
    phone = forms.CharField(
        label="Mobile phone",
        max_length=40,
        required=False,
        help_text="Your email, or your mobile number if you have no email: we send your card there.",
    )

    def __init__(self, *args, timezone_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone_name = timezone_name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        try:
            return phones.normalize(self.cleaned_data["phone"], timezone_name=self.timezone_name)
        except phones.PhoneError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("email") and not data.get("phone"):
            self.add_error("email", "Enter an email or a mobile number.")
        elif data.get("email") and data.get("phone"):
            self.add_error("phone", "Give an email or a mobile number, not both: we confirm one of them.")
        return data


class RecoverForm(forms.Form):
    contact = forms.CharField(
        label="Email or mobile number",
        max_length=254,
        help_text="The one you joined with: we send your card there.",
    )

    def __init__(self, *args, timezone_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone_name = timezone_name

    def clean_contact(self):
        text = self.cleaned_data["contact"].strip()
        if "@" in text:
            field = forms.EmailField()
            return {"email": field.clean(text).lower()}
        try:
            return {"phone": phones.normalize(text, timezone_name=self.timezone_name)}
        except phones.PhoneError as error:
            raise forms.ValidationError(str(error)) from error


class PhoneCodeForm(forms.Form):
    code = forms.RegexField(
        label="Code",
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        max_length=12,
        error_messages={"invalid": "Enter the 6 digits of the code we sent by text message."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
