"""The shapes of the API's requests and responses. Money is a decimal string; times are ISO 8601 with an offset."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

from system.codes import mask_code

MONEY_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,2})?$"
# More than zero (no look-ahead: pydantic's regex engine has none): a non-zero digit before the point, or after.
POSITIVE_MONEY_PATTERN = r"^(0{0,6}[1-9][0-9]{0,6}(\.[0-9]{1,2})?|0{1,7}\.([1-9][0-9]?|0[1-9]))$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
MoneyOut = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["12.50"])]


class Error(Schema):
    code: str = Field(description="Stable, for programs: e.g. not_found, invalid, idempotency_key_reused.")
    message: str = Field(description="For people.")
    fields: dict[str, str] | None = Field(None, description="For invalid requests: the message for each field.")


class ScanIn(Schema):
    code: Text = Field(
        max_length=512,
        description="What the till's scanner read or the cashier typed: a card token (the card page's QR code), the"
        " short code shown beside it (6 characters, any case, spaces and dashes ignored; good once, for a few"
        " minutes) or a printed customer code.",
    )


class CustomerOut(Schema):
    id: UUID
    code: str = Field(
        description='The customer\'s printed code, masked to its last 4 characters ("•••• 7K2Q"): enough to tell'
        " two cards apart, not to use one.",
        examples=["•••• 7K2Q"],
    )
    name: str
    status: str


class AccountOut(Schema):
    customer: CustomerOut
    points: int
    tier: str | None = Field(description="The customer's tier here (by points earned in the last 12 months).")
    next_tier: str | None
    points_to_next_tier: int | None
    expiring_points: int = Field(description="Points that expire within the next 30 days.")
    expiring_at: datetime | None = Field(description="When the first of them expire.")
    loyalty_status: str = Field(description="new, active, at_risk, lapsed, or the customer's inactive/blocked.")
    total_points_earned: int
    total_points_redeemed: int
    total_spent: MoneyOut
    total_transactions: int
    last_visit_at: datetime | None


class ScanOut(Schema):
    scan_id: UUID = Field(description="Good for one sale by this key within scan.checkout_minutes.")
    customer: CustomerOut
    points: int
    tier: str | None


class ItemIn(Schema):
    product_name: Text = Field(min_length=1, max_length=200)
    product_sku: Text = Field("", max_length=64)
    quantity: int = Field(1, ge=1, le=10_000)
    unit_price: str = Field(pattern=MONEY_PATTERN, examples=["4.50"])


class ItemOut(Schema):
    product_name: str
    product_sku: str
    quantity: int
    unit_price: MoneyOut
    total_price: MoneyOut


class TransactionIn(Schema):
    scan_id: UUID = Field(description="From POST /scans, by this key.")
    customer_id: UUID = Field(description="The customer of that scan.")
    amount: str = Field(pattern=POSITIVE_MONEY_PATTERN, examples=["12.50"], description="A decimal string.")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="The merchant's currency; may be left out.")
    payment_method: Literal["cash", "card", "mobile", "other"] = "card"
    items: list[ItemIn] = Field([], max_length=50, description="When given, they add up to the amount.")
    points_to_redeem: int = Field(0, ge=0, le=2_000_000_000)
    external_reference: Text = Field("", max_length=100, description="The till's own receipt number, say.")
    status: Literal["completed", "pending"] = Field(
        "completed", description="pending: complete or cancel it later; points move when it completes."
    )


class RefundIn(Schema):
    amount: str | None = Field(
        None, pattern=POSITIVE_MONEY_PATTERN, description="A part of the sale; left out: everything not refunded yet."
    )


class RefundOut(Schema):
    id: UUID
    kind: Literal["refund", "cancel"]
    amount: MoneyOut
    points_taken_back: int = Field(description="Earned points taken back by this refund.")
    points_given_back: int = Field(description="Redeemed points given back by this refund.")
    points_shortfall: int = Field(description="Earned points this refund could not take back: spent or expired.")
    created_at: datetime


class TransactionOut(Schema):
    id: UUID
    status: Literal["pending", "completed", "failed", "cancelled", "refunded"]
    customer: CustomerOut
    amount: MoneyOut
    currency: str
    payment_method: str
    discount_amount: MoneyOut = Field(description="What the redeemed points paid.")
    amount_due: MoneyOut = Field(description="What the customer pays beyond the points.")
    refunded_amount: MoneyOut = Field(description="Refunded so far (partial refunds keep the sale completed).")
    points_earned: int
    points_redeemed: int
    points_reversed: int
    external_reference: str
    items: list[ItemOut]
    refunds: list[RefundOut] = Field(description="The sale's refunds and cancellation, oldest first.")
    created_at: datetime
    completed_at: datetime | None
    refunded_at: datetime | None
    cancelled_at: datetime | None


class TransactionPage(Schema):
    items: list[TransactionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class LedgerEntryOut(Schema):
    id: UUID
    type: str
    points_change: int
    balance_after: int | None
    description: str
    transaction_id: UUID | None
    created_at: datetime


class LedgerPage(Schema):
    items: list[LedgerEntryOut]
    next_cursor: str | None


class DayOut(Schema):
    date: date
    total_sales: MoneyOut
    total_transactions: int
    unique_customers: int
    new_customers: int
    points_issued: int
    points_redeemed: int
    points_reversed: int
    total_refunds: MoneyOut
    refund_count: int


class DailyAnalyticsOut(Schema):
    currency: str
    items: list[DayOut]


# From models to responses, with times in the merchant's time zone.


def money(value) -> str:
    return f"{Decimal(value):.2f}"


def local(value: datetime | None, zone: str) -> datetime | None:
    return timezone.localtime(value, ZoneInfo(zone)) if value else None


def customer_out(customer) -> dict:
    return {
        "id": customer.pk,
        "code": mask_code(customer.customer_code),
        "name": customer.full_name,
        "status": customer.status,
    }


def sale_out(sale) -> dict:
    zone = sale.merchant.timezone
    return {
        "id": sale.pk,
        "status": sale.status,
        "customer": customer_out(sale.customer),
        "amount": money(sale.amount),
        "currency": sale.currency,
        "payment_method": sale.payment_method,
        "discount_amount": money(sale.discount_amount),
        "amount_due": money(sale.amount_due),
        "refunded_amount": money(sale.refunded_amount),
        "points_earned": sale.points_earned,
        "points_redeemed": sale.points_redeemed,
        "points_reversed": sale.points_reversed,
        "external_reference": sale.external_reference,
        "items": [
            {
                "product_name": item.product_name,
                "product_sku": item.product_sku,
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
                "total_price": money(item.total_price),
            }
            for item in sale.items.all()
        ],
        "refunds": [
            {
                "id": refund.pk,
                "kind": refund.kind,
                "amount": money(refund.amount),
                "points_taken_back": refund.points_taken_back,
                "points_given_back": refund.points_given_back,
                "points_shortfall": refund.points_shortfall,
                "created_at": local(refund.created_at, zone),
            }
            for refund in sale.refunds.all()
        ],
        "created_at": local(sale.created_at, zone),
        "completed_at": local(sale.completed_at, zone),
        "refunded_at": local(sale.refunded_at, zone),
        "cancelled_at": local(sale.cancelled_at, zone),
    }


def account_out(member, customer, standing, zone: str) -> dict:
    return {
        "customer": customer_out(customer),
        "points": member.current_points,
        "tier": standing.tier,
        "next_tier": standing.next_tier,
        "points_to_next_tier": standing.points_to_next,
        "expiring_points": standing.expiring_points,
        "expiring_at": local(standing.expiring_at, zone),
        "loyalty_status": member.loyalty_status,
        "total_points_earned": member.total_points_earned,
        "total_points_redeemed": member.total_points_redeemed,
        "total_spent": money(member.total_spent),
        "total_transactions": member.total_transactions,
        "last_visit_at": local(member.last_visit_at, zone),
    }


def ledger_entry_out(entry, zone: str) -> dict:
    return {
        "id": entry.pk,
        "type": entry.transaction_type,
        "points_change": entry.points_change,
        "balance_after": entry.balance_after,
        "description": entry.description,
        "transaction_id": entry.transaction_id,
        "created_at": local(entry.created_at, zone),
    }


def day_out(day: dict) -> dict:
    return {**day, "total_sales": money(day["total_sales"]), "total_refunds": money(day["total_refunds"])}
