from django.db import connection
from django.http import HttpResponseBadRequest
from django.urls import reverse

from system.audit import ActingUserWrapper


class ActingUserMiddleware:
    """Every write made while serving a logged-in user is audited as theirs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with connection.execute_wrapper(ActingUserWrapper(str(user.pk))):
            return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in the admin's path or query string is refused with a 400: PostgreSQL's text cannot hold
    one, and the admin's list filters pass their values to queries without a form to check them (the site's own
    pages and forms check theirs, and say what is wrong on the page)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if request.path.startswith(self.prefix):
            values = [request.path, *(v for _, vs in request.GET.lists() for v in vs)]
            if any("\x00" in value for value in values):
                return HttpResponseBadRequest("A NUL character is not allowed here.\n", content_type="text/plain")
        return self.get_response(request)
