from django.db import connection
from django.http import HttpResponseBadRequest

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


FORM_DATA = "multipart/form-data"


class RejectNulMiddleware:
    """A NUL character in the path, the query string or a form is refused with a 400: PostgreSQL's text cannot
    hold one, so it would otherwise end in a database error wherever a view passes it on unchecked."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = [request.path, *(v for _, vs in request.GET.lists() for v in vs)]
        if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", FORM_DATA):
            values += [v for _, vs in request.POST.lists() for v in vs]
        if any("\x00" in value for value in values):
            return HttpResponseBadRequest("A NUL character is not allowed here.\n", content_type="text/plain")
        return self.get_response(request)
