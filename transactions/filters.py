import django_filters
from django import forms

from transactions import selectors
from transactions.forms import EARLIEST, LATEST
from transactions.models import Transaction

DATE = forms.DateInput(attrs={"type": "date"})


class TransactionFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        for name in ("date_from", "date_to"):
            if data.get(name) and not EARLIEST <= data[name] <= LATEST:
                self.add_error(name, f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}.")
                data[name] = None
        if first and last and first > last:
            self.add_error("date_to", "The end date is before the start date.")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The upper amount is below the lower one.")
        return data


class TransactionFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(label="From", method="filter_from", widget=DATE)
    date_to = django_filters.DateFilter(label="To", method="filter_to", widget=DATE)
    status = django_filters.ChoiceFilter(choices=Transaction.Status.choices, empty_label="Any status")
    payment_method = django_filters.ChoiceFilter(choices=Transaction.PaymentMethod.choices, empty_label="Any payment")
    amount_min = django_filters.NumberFilter(
        field_name="amount", lookup_expr="gte", label="Amount from", min_value=0, max_digits=12, decimal_places=2
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount", lookup_expr="lte", label="Amount to", min_value=0, max_digits=12, decimal_places=2
    )
    customer = django_filters.CharFilter(
        label="Customer",
        method="filter_customer",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, email or code"}),
    )

    class Meta:
        model = Transaction
        fields = []
        form = TransactionFilterForm

    def filter_from(self, queryset, name, value):
        return selectors.filter_created_between(queryset, value, None)

    def filter_to(self, queryset, name, value):
        return selectors.filter_created_between(queryset, None, value)

    def filter_customer(self, queryset, name, value):
        return selectors.filter_customer(queryset, value)
