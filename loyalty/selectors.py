from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from loyalty.models import LoyaltyProgram
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
    return (
        AuditLog.objects.filter(table_name="loyalty_programs", record_id=program.pk)
        .select_related("user")
        .order_by("-created_at")[:limit]
    )
