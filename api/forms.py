from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Which till or system uses it, e.g. “Front till”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
