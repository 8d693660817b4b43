from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount, LoyaltyProgram, LoyaltyTier
from merchants.models import Merchant
from system.models import AuditLog


def program_active(*, merchant: Merchant) -> LoyaltyProgram | None:
    return LoyaltyProgram.objects.filter(merchant=merchant, is_active=True).first()


def program_points_for(*, program: LoyaltyProgram, amount: Decimal) -> int:
    """Points a purchase of `amount` earns, by the database's own rule (loyalty_points_for)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT loyalty_points_for(p, %s) FROM loyalty_programs p WHERE p.id = %s", [amount, program.pk])
        return cursor.fetchone()[0]


def program_history(*, program: LoyaltyProgram, limit: int = 20) -> QuerySet[AuditLog]:
    """The program's changes and its tiers' (added, changed, removed), newest first."""
    tier_of_program = Q(new_values__program_id=str(program.pk)) | Q(old_values__program_id=str(program.pk))
    return (
        AuditLog.objects.filter(
            Q(table_name="loyalty_programs", record_id=program.pk) | (Q(table_name="loyalty_tiers") & tier_of_program)
        )
        .select_related("user")
        .order_by("-created_at")[:limit]
    )


def program_tiers(*, program: LoyaltyProgram | None) -> list[LoyaltyTier]:
    return list(program.tiers.order_by("min_points")) if program else []


@dataclass(frozen=True)
class Standing:
    """A customer's tier at a merchant and the points that expire within EXPIRY_NOTICE_DAYS."""

    points: int  # the balance here (0 without an account)
    points_last_year: int | None  # None: the program has no tiers
    tier: str | None
    multiplier: Decimal
    next_tier: str | None
    points_to_next: int | None
    expiring_points: int
    expiring_at: datetime | None


EXPIRY_NOTICE_DAYS = 30

STANDING = "SELECT * FROM loyalty_account_standing(%(customer)s, %(merchant)s, %(soon)s)"


def account_standing(*, merchant: Merchant, customer_id) -> Standing:
    """The balance here, the tier by points earned here in the last 12 months (the database's rule), and the
    next expiry."""
    with connection.cursor() as cursor:
        cursor.execute(STANDING, {"customer": customer_id, "merchant": merchant.pk, "soon": EXPIRY_NOTICE_DAYS})
        balance, points, tier, multiplier, next_tier, to_next, expiring, expiring_at = cursor.fetchone()
    return Standing(
        points=balance,
        points_last_year=points,
        tier=tier,
        multiplier=multiplier or Decimal("1"),
        next_tier=next_tier,
        points_to_next=to_next,
        expiring_points=expiring or 0,
        expiring_at=expiring_at,
    )


def card_balances(*, customer: Customer) -> QuerySet[CustomerLoyaltyAccount]:
    """The customer's accounts, one per merchant, for their card page."""
    return (
        CustomerLoyaltyAccount.objects.filter(customer=customer)
        .select_related("merchant")
        .order_by("merchant__business_name")
    )
