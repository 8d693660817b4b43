"""The database out of reach or restarting: 503 with Retry-After, one log line, and a fresh connection next time.

`is_database_unavailable(exc)` tells a lost or refused connection (and a pool with none to give) from the errors
of a working database (a deadlock, a timeout, a constraint), which stay what they are. Views' exceptions reach
`DatabaseUnavailableMiddleware.process_exception`; those raised before a view (the session, the user, the
merchant's time zone in middleware) reach `server_error`, the site's handler500. The API's own exception handler
(api/errors.py) answers its views' in its JSON shape. None of these touches the database to answer.

A broken connection is closed at the end of the request (Django's close_old_connections on request_finished;
the pool discards it), so the next request connects again: no restart of the app server is needed.
"""

import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

from system.urls_util import is_api_request

logger = logging.getLogger(__name__)

CODE = "database_unavailable"
MESSAGE = "The database is unavailable for a moment: retry after Retry-After seconds (a write: same Idempotency-Key)."
# SQLSTATE classes and codes of a database that cannot serve: 08 connection exceptions, 53 insufficient
# resources (too many connections, disk full), 57P01-57P05 shutdown, crash, starting up, idle timeouts.
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")


def is_database_unavailable(exc: BaseException | None) -> bool:
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if isinstance(exc, InterfaceError):
        return True  # "connection already closed": the connection is gone
    cause = exc.__cause__
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg_pool is in requirements.txt
        PoolTimeout = ()  # noqa: N806
    if isinstance(cause, PoolTimeout):
        return True
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:  # raised by the client: refused, closed by the server, lost mid-query
        return cause is not None
    return sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def log_unavailable(request: HttpRequest, exc: BaseException) -> None:
    """One warning line, no traceback: an outage is an event to see, not a bug to read."""
    logger.warning("Database unavailable, answered 503: %s %s (%s)", request.method, request.path, _first_line(exc))


def close_broken_connections() -> None:
    """Close the connections an outage broke, so that the next use connects again. With Django's pool, the
    idle connections a restart broke too are dropped now (pool.check()), rather than each failing one request."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.is_usable():
            try:
                conn.close()
            except DatabaseError:
                conn.connection = None  # closing a dead socket can fail; forget it all the same
        pool = getattr(conn, "pool", None)
        if pool is not None:
            try:
                pool.check()
            except Exception:  # noqa: BLE001 - best effort: a connection it misses fails its own request
                logger.debug("pool check failed", exc_info=True)


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 of a page or of the API (the API's error shape), logged once: Django logs it no more."""
    log_unavailable(request, exc)
    close_broken_connections()
    if is_api_request(request):
        response = JsonResponse({"code": CODE, "message": MESSAGE}, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)  # no context processors
    response["Retry-After"] = str(settings.DB_UNAVAILABLE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # django.request would log it again, as an error
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost the database answers 503 with Retry-After (before the views' 500 path logs a traceback)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_unavailable(exception):
            return unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage met in middleware (before any view) is a 503; anything else the 500 page."""
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return unavailable_response(request, exc)
    if is_api_request(request):
        return JsonResponse({"code": "internal_error", "message": "Something went wrong on our side."}, status=500)
    return defaults.server_error(request)
