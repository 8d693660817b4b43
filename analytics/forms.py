from datetime import date, timedelta

from django import forms

from transactions.forms import EARLIEST, LATEST

MAX_RANGE_DAYS = 366


class DateRangeForm(forms.Form):
    """A range of the merchant's days: a month by default, at most a year, never in the future."""

    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        for name in ("date_from", "date_to"):
            if data.get(name) and not EARLIEST <= data[name] <= LATEST:
                self.add_error(name, f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        if self.errors:
            return data
        last = data.get("date_to") or min(self.today, (data.get("date_from") or self.today) + timedelta(days=29))
        first = data.get("date_from") or last - timedelta(days=29)
        if first > last:
            self.add_error("date_to", "The end date is before the start date.")
        elif (last - first).days >= MAX_RANGE_DAYS:
            self.add_error("date_from", f"Choose at most {MAX_RANGE_DAYS} days.")
        data["date_from"], data["date_to"] = first, last
        return data
