"""Reads of the dashboards from a read replica (docs/architecture.md "Read replica").

Opt-in by view: a view method wrapped in `replica_reads` runs its ORM reads on the `replica` database
alias; every other read, every write, and any read inside a transaction of the primary stay on the
primary (ReplicaRouter). The counter, the API, the admin and the services never read from the replica.

A view reads from the replica only when all of these hold, else from the primary:
- a replica is configured (DATABASE_REPLICA_URL, or LOYALTY_REPLICA=1 with the embedded server);
- it answered the last check (once per DATABASE_REPLICA_CHECK_SECONDS per process; a replica that did
  not answer is tried again after DATABASE_REPLICA_RETRY_SECONDS), is in recovery, streams from its
  primary, and lags by at most DATABASE_REPLICA_MAX_LAG seconds;
- the user's own latest write (the primary's WAL position after a logged-in user's POST, PUT, PATCH or
  DELETE, kept in a cookie by ReadYourWritesMiddleware) has been replayed by the replica.
A replica that fails during the view (down, restarting) is marked down and the view runs again on the
primary, and so does a view that found a row missing (not found, 404) on the replica, or whose query
conflicted with replay or waited past DATABASE_REPLICA_LOCK_TIMEOUT for a lock replay holds: no page
fails because of the replica. A CSV export that fails midway on it ends there (its first lines are sent).

Lag: the replica's replay position against the WAL it received (zero when it has replayed all it got,
however long the primary has been idle); when behind, the time since the last replayed commit, or since
this process last saw it caught up, whichever is shorter.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import Http404

from system.outage import is_database_unavailable
from system.urls_util import is_api_request

logger = logging.getLogger(__name__)

REPLICA = "replica"  # the database alias
PIN_COOKIE = "loyalty_wrote_at"  # the primary's WAL position after the user's latest write
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
# A replica's query cancelled by a conflict with the WAL it replays (40001, 40P01), or that waited longer than
# its lock_timeout (55P03) for a lock replay holds (a TRUNCATE not replayed to its end): read from the primary.
REPLICA_CONFLICTS = ("40001", "40P01", "55P03")

_local = threading.local()


def configured() -> bool:
    return REPLICA in connections.settings


# --- the router -------------------------------------------------------------------------------


class ReplicaRouter:
    """Reads go to the replica only inside `reading_from(REPLICA)` and outside a transaction of the
    primary; writes always go to the primary, also for rows read from the replica."""

    def db_for_read(self, model, **hints):
        alias = getattr(_local, "alias", None)
        if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None} or None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


@contextlib.contextmanager
def reading_from(alias: str | None):
    """Route this thread's ORM reads to `alias` (None: the primary) for the block."""
    previous = getattr(_local, "alias", None)
    _local.alias = alias
    try:
        yield
    finally:
        _local.alias = previous


# --- the replica's health, checked at most once per interval per process -----------------------


@dataclass(frozen=True)
class Health:
    usable: bool
    reason: str  # why the replica is not used ("" when it is usable)
    lag_seconds: float | None = None
    replay_lsn: int | None = None
    checked_at: float = 0.0  # time.monotonic()
    answered: bool = True  # False: unreachable, tried again after DATABASE_REPLICA_RETRY_SECONDS


class _Checker:
    def __init__(self):
        self.lock = threading.Lock()
        self.health: Health | None = None
        self.caught_up_at: float | None = None  # the replica's clock when it was last seen caught up

    def current(self) -> Health:
        health = self.health
        if health is not None and time.monotonic() - health.checked_at < self._interval(health):
            return health
        if not self.lock.acquire(blocking=health is None):
            return health  # another thread is checking: the previous answer meanwhile
        try:
            self.health = self._check()
            return self.health
        finally:
            self.lock.release()

    @staticmethod
    def _interval(health: Health) -> float:
        return settings.DATABASE_REPLICA_CHECK_SECONDS if health.answered else settings.DATABASE_REPLICA_RETRY_SECONDS

    def mark_down(self, error: BaseException) -> None:
        self.health = Health(False, f"unreachable: {_first_line(error)}", checked_at=time.monotonic(), answered=False)

    def reset(self) -> None:
        self.health, self.caught_up_at = None, None

    def _check(self) -> Health:
        conn = connections[REPLICA]
        if conn.connection is not None and not conn.is_usable():
            _close(conn)  # a kept connection the replica's restart broke: connect again rather than give up
        return self._ask(conn)

    def _ask(self, conn) -> Health:
        now = time.monotonic()
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    """
                    SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver),
                           pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(),
                           pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint,
                           extract(epoch FROM now()),
                           extract(epoch FROM pg_last_xact_replay_timestamp())
                    """
                )
                in_recovery, receiver, caught_up, replay_lsn, clock, replayed_at = cursor.fetchone()
        except DatabaseError as error:
            _close(conn)
            logger.warning("The read replica did not answer; reads go to the primary: %s", _first_line(error))
            return Health(False, f"unreachable: {_first_line(error)}", checked_at=now, answered=False)
        if not in_recovery:
            return Health(False, "the replica database is not a replica (not in recovery)", checked_at=now)
        if receiver != "streaming":
            reason = f"the replica is not streaming from its primary ({receiver or 'no WAL receiver'})"
            return Health(False, reason, checked_at=now)
        if caught_up:
            self.caught_up_at = float(clock)
            lag = 0.0
        else:
            lag = float(clock) - float(replayed_at) if replayed_at is not None else float("inf")
            if self.caught_up_at is not None:
                lag = min(lag, float(clock) - self.caught_up_at)
        max_lag = settings.DATABASE_REPLICA_MAX_LAG
        if lag > max_lag:
            return Health(False, f"the replica lags {lag:.1f} s, more than {max_lag:g} s", lag, replay_lsn, now)
        return Health(True, "", lag, replay_lsn, now)


_checker = _Checker()


def health() -> Health | None:
    """The replica's state as this process last saw it (None: no replica configured)."""
    return _checker.current() if configured() else None


def reset() -> None:
    """Forget the cached state (the tests, after they stop or pause the replica)."""
    _checker.reset()


def choose(request) -> tuple[str | None, str]:
    """The alias a replica-reading view of `request` reads from (None: the primary), and why not the replica."""
    if not configured():
        return None, "no replica configured"
    state = _checker.current()
    if not state.usable:
        return None, state.reason
    wrote_at = parse_lsn(request.COOKIES.get(PIN_COOKIE, ""))
    if wrote_at is not None and (state.replay_lsn is None or state.replay_lsn < wrote_at):
        return None, "the user's latest write is not on the replica yet"
    return REPLICA, ""


def parse_lsn(text: str) -> int | None:
    """'16/B374D848' as a number; None for anything else."""
    high, _, low = text.partition("/")
    try:
        return (int(high, 16) << 32) + int(low, 16) if low else None
    except ValueError:
        return None


# --- views --------------------------------------------------------------------------------------


def replica_reads(view):
    """A view (function, or a method with method_decorator) whose reads may go to the replica: its page is
    rendered and its streamed CSV read within the block. A replica failure reruns it on the primary."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        alias, _ = choose(request)
        if alias is None:
            return view(request, *args, **kwargs)
        try:
            with reading_from(alias):
                response = _rendered(view(request, *args, **kwargs))
        except (ObjectDoesNotExist, Http404):
            # A row not replayed yet (a merchant made a moment ago by someone else): the primary has it, or says so.
            return view(request, *args, **kwargs)
        except DatabaseError as error:
            if is_database_unavailable(error) and _broken(connections[alias]):
                _checker.mark_down(error)
                _close(connections[alias])
            elif getattr(error.__cause__, "sqlstate", None) not in REPLICA_CONFLICTS:
                raise
            logger.warning("The read replica failed during %s; read from the primary: %s", request.path, error)
            return view(request, *args, **kwargs)
        if response.streaming:
            response.streaming_content = _streamed(alias, response.streaming_content)
        return response

    return wrapper


def _rendered(response):
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response


def _streamed(alias, content):
    with reading_from(alias):
        yield from content


def _broken(conn) -> bool:
    return conn.connection is None or not conn.is_usable()


def _close(conn) -> None:
    try:
        conn.close()
    except DatabaseError:
        conn.connection = None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


class ReadYourWritesMiddleware:
    """After a logged-in user's write (a page's POST, PUT, PATCH or DELETE; not the API), remember the
    primary's WAL position in a cookie: that user's pages read from the replica only once it has replayed
    that far (choose). Costs one query per such request, and only when a replica is configured."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _local.alias = None  # a thread starts every request on the primary
        response = self.get_response(request)
        if (
            request.method not in SAFE_METHODS
            and configured()
            and not is_api_request(request)
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            try:
                with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                    cursor.execute("SELECT pg_current_wal_lsn()::text")
                    position = cursor.fetchone()[0]
            except DatabaseError:
                return response  # the primary is out of reach: its own answer (503) stands
            response.set_cookie(
                PIN_COOKIE,
                position,
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response
