"""Rate limits kept in the database (`rate_limit_hits`), so every web process and worker counts the same
attempts: `hit(scope=..., key=..., limit=..., window_seconds=...)` records one attempt and says whether it is
over the limit.

The key (an address, an email, a phone number, a merchant's id) is stored as its SHA-256 only, so the table
names nobody. Each hit is inserted first, then the hits of its key within the window are counted, under a
transaction-level advisory lock on (scope, key): hits of one key take turns, each counts every hit before it
and itself, so however many arrive at once, at most `limit` of a window are let through. Hits of different
keys never wait for each other.

Call it outside the request's transaction (the views run in autocommit): the hit is then committed at once and
counts whatever the request does next. Inside a transaction it still counts right, but the key's lock is held
until that transaction ends, and a rollback takes the hit away with everything else.

Counting failures rather than attempts (a login's failed passwords): `record` adds a hit without counting,
and `recent` counts a key's hits within a window and gives the latest one's time.

Hits older than a day are purged hourly (operations.purge_rate_limit_hits), so a window is a day at most.
"""

import hashlib
from datetime import datetime

from django.db import connection, transaction

# pg_advisory_xact_lock(LOCK_SPACE, hashtext(scope:digest)): the two-number lock space of rate limits
# (2031: the sales' roll-up, 2040: maintenance).
LOCK_SPACE = 2050
KEEP_SECONDS = 86_400
PURGE_BATCH = 10_000

_HIT_SQL = """
    WITH locked AS (SELECT pg_advisory_xact_lock(%(space)s, hashtext(%(scope)s || ':' || %(digest)s)))
    INSERT INTO rate_limit_hits (scope, key_digest) SELECT %(scope)s, %(digest)s FROM locked
"""
_COUNT_SQL = """
    SELECT count(*) FROM rate_limit_hits
     WHERE scope = %(scope)s AND key_digest = %(digest)s AND created_at > now() - make_interval(secs => %(window)s)
"""

_RECENT_SQL = """
    SELECT count(*), max(created_at) FROM rate_limit_hits
     WHERE scope = %(scope)s AND key_digest = %(digest)s AND created_at > now() - make_interval(secs => %(window)s)
"""


def key_digest(key: str) -> str:
    """What the table keeps of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def hit(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Record one attempt of `key` in `scope`; True when it is over `limit` attempts within the last
    `window_seconds` (this one counted: the limit-th attempt passes, the next does not). A refused attempt is
    recorded too, so hammering keeps a key refused until its attempts fall out of the window."""
    if limit < 0:
        raise ValueError("A rate limit is 0 or more attempts.")
    _checked(scope, window_seconds)
    params = {"space": LOCK_SPACE, "scope": scope, "digest": key_digest(key), "window": window_seconds}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_HIT_SQL, params)
        cursor.execute(_COUNT_SQL, params)
        [count] = cursor.fetchone()
    return count > limit


def hits(*, scope: str, window_seconds: int, **limits: tuple[str | None, int]) -> bool:
    """One attempt limited several ways at once, e.g. `hits(scope="reset", window_seconds=3600, email=(email, 3),
    address=(address, 10))`: a hit of each key (in scope "reset.email", "reset.address"; a None key is skipped),
    every one counted; True when any is over its limit."""
    over = [
        hit(scope=f"{scope}.{name}", key=key, limit=limit, window_seconds=window_seconds)
        for name, (key, limit) in limits.items()
        if key
    ]
    return any(over)


def _checked(scope: str, window_seconds: int | None = None) -> None:
    if not scope or len(scope) > 64:
        raise ValueError("A rate limit's scope is 1 to 64 characters.")
    if window_seconds is not None and not 1 <= window_seconds <= KEEP_SECONDS:
        raise ValueError(f"A rate limit's window is 1 to {KEEP_SECONDS} seconds: older hits are purged.")


def record(*, scope: str, key: str) -> None:
    """Record one hit of `key` in `scope`, counting nothing."""
    _checked(scope)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO rate_limit_hits (scope, key_digest) VALUES (%s, %s)", [scope, key_digest(key)])


def recent(*, scope: str, key: str, window_seconds: int) -> tuple[int, datetime | None]:
    """How many hits `key` has in `scope` within the last `window_seconds`, and when the latest was (None: none)."""
    _checked(scope, window_seconds)
    params = {"scope": scope, "digest": key_digest(key), "window": window_seconds}
    with connection.cursor() as cursor:
        cursor.execute(_RECENT_SQL, params)
        count, latest = cursor.fetchone()
    return count, latest


def rate_limit_purge() -> int:
    """Delete the hits older than a day, a batch per transaction; returns how many. Safe to run twice and at once."""
    removed = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM rate_limit_hits WHERE id IN (SELECT id FROM rate_limit_hits"
                " WHERE created_at < now() - make_interval(secs => %s) LIMIT %s FOR UPDATE SKIP LOCKED)",
                [KEEP_SECONDS, PURGE_BATCH],
            )
            removed += cursor.rowcount
            if cursor.rowcount < PURGE_BATCH:
                return removed
