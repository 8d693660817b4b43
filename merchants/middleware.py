import zoneinfo

from django.utils import timezone

from merchants.access import active_membership


class MerchantTimezoneMiddleware:
    """Show times in the active merchant's time zone: a merchant's day is its local day."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = active_membership(request) if request.user.is_authenticated else None
        if membership is None:
            return self.get_response(request)
        with timezone.override(zoneinfo.ZoneInfo(membership.merchant.timezone)):
            return self.get_response(request)
