import uuid
from datetime import date
from decimal import Decimal

from django import forms

from transactions.models import Transaction

MAX_AMOUNT = Decimal("1000000.00")
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # the dates a date field of sales or their days accepts


class CheckoutForm(forms.Form):
    scan = forms.UUIDField(widget=forms.HiddenInput)
    customer = forms.UUIDField(widget=forms.HiddenInput)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, initial=lambda: str(uuid.uuid4()))
    amount = forms.DecimalField(
        label="Amount",
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "autocomplete": "off"}),
    )
    payment_method = forms.ChoiceField(
        label="Payment", choices=Transaction.PaymentMethod.choices, initial=Transaction.PaymentMethod.CARD
    )
    points_to_redeem = forms.IntegerField(
        label="Points to redeem",
        min_value=0,
        max_value=2_000_000_000,
        required=False,
        initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean_points_to_redeem(self):
        return self.cleaned_data.get("points_to_redeem") or 0


class ItemForm(forms.Form):
    product_name = forms.CharField(label="Product", max_length=200)
    quantity = forms.IntegerField(label="Qty", min_value=1, max_value=10_000, initial=1)
    unit_price = forms.DecimalField(label="Unit price", min_value=Decimal("0"), max_digits=12, decimal_places=2)


ItemFormSet = forms.formset_factory(ItemForm, extra=0, max_num=50, validate_max=True)


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund",
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        max_digits=12,
        decimal_places=2,
        help_text="Empty: everything left.",
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "autocomplete": "off"}),
    )
