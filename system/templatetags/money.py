"""{{ amount|money:currency }}: an amount in a merchant's currency, e.g. $1,234.50, €9.80, ¥1,150."""

from decimal import Decimal, InvalidOperation

from django import template

from system.codes import mask_code

register = template.Library()

# symbol, decimals; other currencies show their code
CURRENCIES = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
    "AUD": ("A$", 2),
    "CAD": ("C$", 2),
    "BRL": ("R$", 2),
    "INR": ("₹", 2),
    "CHF": ("CHF ", 2),
    "CNY": ("¥", 2),
    "KRW": ("₩", 0),
}


def format_money(amount, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    symbol, places = CURRENCIES.get(currency, (f"{currency} ", 2))
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{places}f}"


@register.filter
def money(amount, currency="USD"):
    return format_money(amount, currency)


@register.filter
def points(value):
    return "" if value is None else f"{int(value):,}"


@register.filter
def label(value):
    """A status value as words: at_risk -> at risk."""
    return str(value or "").replace("_", " ")


@register.filter
def masked(code: str) -> str:
    """{{ customer.customer_code|masked }}: the last characters of a customer's code (system.codes.mask_code)."""
    return mask_code(code or "")
