from django.db import connection

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
