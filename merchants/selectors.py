from django.db.models import F, QuerySet

from merchants.models import Merchant, MerchantStaff
from system.models import FraudFlag


def staff_list(*, merchant: Merchant) -> QuerySet[MerchantStaff]:
    return (
        MerchantStaff.objects.filter(merchant=merchant)
        .select_related("user")
        .order_by("-is_active", "role", "user__email")
    )


def flag_list(*, merchant: Merchant):
    return (
        FraudFlag.objects.filter(merchant=merchant)
        .select_related("customer", "reviewed_by")
        .order_by(F("reviewed_at").asc(nulls_first=True), "-created_at")[:200]
    )
