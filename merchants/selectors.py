from django.db.models import QuerySet

from merchants.models import Merchant, MerchantStaff


def staff_list(*, merchant: Merchant) -> QuerySet[MerchantStaff]:
    return (
        MerchantStaff.objects.filter(merchant=merchant)
        .select_related("user")
        .order_by("-is_active", "role", "user__email")
    )
