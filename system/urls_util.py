import ipaddress

from django.conf import settings


def site_url(request) -> str:
    """The address links in emails start with: SITE_URL when set, else the address of this request."""
    return settings.SITE_URL or request.build_absolute_uri("/")


def is_api_request(request) -> bool:
    """A request to the point-of-sale API (/api/): authenticated by its keys, answered in its JSON shape."""
    return request.path_info.startswith("/api/")


def client_ip(request) -> str | None:
    """The address a request came from: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the
    outermost of them saw (X-Forwarded-For, counted from the right: what a client wrote on the left is not
    trusted). A request with fewer forwarded addresses than proxies did not come through them all: REMOTE_ADDR."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return _address(forwarded[-count])
    return _address(request.META.get("REMOTE_ADDR", ""))


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
