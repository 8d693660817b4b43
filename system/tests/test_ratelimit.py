"""Rate limits in the database: each hit is recorded, its key kept as a digest only, and counted within its
window; however many hits of one key arrive at once, at most the limit pass. Their hourly purge is
tested in operations/tests/test_rate_limit_purge.py."""

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from system.ratelimit import hit, hits, key_digest
from system.testing import sql

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_hits_left():
    sql("TRUNCATE rate_limit_hits")


def test_the_limit_th_hit_passes_and_the_next_is_refused():
    results = [hit(scope="join.contact", key="ada@example.test", limit=3, window_seconds=3600) for _ in range(5)]
    assert results == [False, False, False, True, True]
    # another key, another scope: counted apart
    assert not hit(scope="join.contact", key="bob@example.test", limit=3, window_seconds=3600)
    assert not hit(scope="join.address", key="ada@example.test", limit=3, window_seconds=3600)


def test_only_the_hits_within_the_window_count():
    for _ in range(3):
        hit(scope="join.address", key="203.0.113.7", limit=3, window_seconds=60)
    sql("UPDATE rate_limit_hits SET created_at = created_at - interval '61 seconds'")  # a minute passes
    assert not hit(scope="join.address", key="203.0.113.7", limit=3, window_seconds=60)
    assert hit(scope="join.address", key="203.0.113.7", limit=3, window_seconds=3600)


def test_no_key_is_stored_in_clear():
    hit(scope="join.contact", key="+14155550123", limit=5, window_seconds=3600)
    hit(scope="join.contact", key="ada@example.test", limit=5, window_seconds=3600)
    rows = sql("SELECT scope, key_digest FROM rate_limit_hits ORDER BY id")
    assert rows == [("join.contact", key_digest("+14155550123")), ("join.contact", key_digest("ada@example.test"))]
    assert key_digest("ada@example.test") == hashlib.sha256(b"ada@example.test").hexdigest()
    assert sql("SELECT count(*) FROM rate_limit_hits WHERE key_digest LIKE '%%@%%' OR key_digest LIKE '+%%'") == [(0,)]


@pytest.mark.parametrize(
    "arguments",
    [
        {"scope": "", "limit": 1, "window_seconds": 60},
        {"scope": "join.contact", "limit": -1, "window_seconds": 60},
        {"scope": "join.contact", "limit": 1, "window_seconds": 0},
        {"scope": "join.contact", "limit": 1, "window_seconds": 86_401},  # older hits are purged
    ],
)
def test_a_limit_that_cannot_be_kept_is_refused(arguments):
    with pytest.raises(ValueError):
        hit(key="k", **arguments)
    assert sql("SELECT count(*) FROM rate_limit_hits") == [(0,)]


def concurrent_hits(count: int, limit: int, *, in_transaction: bool = False) -> list[bool]:
    """`count` hits of one key from `count` threads, each on its own connection, released at once."""
    start = threading.Barrier(count)

    def one(_):
        try:
            start.wait()
            if in_transaction:
                with transaction.atomic():
                    over = hit(scope="join.merchant", key="merchant-1", limit=limit, window_seconds=3600)
                    sql("SELECT pg_sleep(0.01)")  # the caller's work after the check
                    return over
            return hit(scope="join.merchant", key="merchant-1", limit=limit, window_seconds=3600)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("in_transaction", [False, True])
def test_concurrent_hits_let_at_most_the_limit_through(in_transaction):
    for _ in range(3):  # a few rounds: the threads' interleaving differs each time
        sql("TRUNCATE rate_limit_hits")
        results = concurrent_hits(24, 5, in_transaction=in_transaction)
        assert results.count(False) == 5
        assert sql("SELECT count(*) FROM rate_limit_hits") == [(24,)]  # every hit recorded, refused ones too


def test_hits_counts_every_key_and_refuses_when_any_is_over(db):
    def attempt(address):
        return hits(scope="t", window_seconds=60, email=("a@x.test", 2), address=(address, 3))

    assert [attempt("10.0.0.1") for _ in range(3)] == [False, False, True]  # the email's third is over
    counts = dict(sql("SELECT scope, count(*) FROM rate_limit_hits GROUP BY scope"))
    assert counts == {"t.email": 3, "t.address": 3}  # a refusal still counted both
    assert attempt(None) is True and dict(sql("SELECT scope, count(*) FROM rate_limit_hits GROUP BY scope")) == {
        "t.email": 4,
        "t.address": 3,  # no address: that limit is skipped
    }
