from django.conf import settings


def site_url(request) -> str:
    """The address links in emails start with: SITE_URL when set, else the address of this request."""
    return settings.SITE_URL or request.build_absolute_uri("/")


def client_ip(request) -> str | None:
    """The address a request came from."""
    return request.META.get("REMOTE_ADDR") or None
