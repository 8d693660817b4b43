from datetime import timedelta

from django import forms

MAX_RANGE_DAYS = 366


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last:
            if first > last:
                self.add_error("date_to", "The end date is before the start date.")
            elif last - first > timedelta(days=MAX_RANGE_DAYS):
                self.add_error("date_from", f"Choose at most {MAX_RANGE_DAYS} days.")
        return data
