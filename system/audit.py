"""Tell the audit trigger who is acting: `app.user_id`, set per database transaction."""

from django.db import connection, transaction

SET_USER_SQL = "SELECT set_config('app.user_id', %s, true)"
_WRITES = ("INSERT", "UPDATE", "DELETE")


def _author_named():
    """An on-commit marker: this database transaction has its `app.user_id`. Django drops it when the
    transaction, or the savepoint that set it, ends, as PostgreSQL drops the setting."""


def _author_named_in(db) -> bool:
    return any(entry[1] is _author_named for entry in db.run_on_commit)


def set_acting_user(user) -> None:
    """Record `user` (or nobody) as the author of the current database transaction's changes."""
    if not connection.in_atomic_block:
        raise RuntimeError("set_acting_user() names the author of a transaction: call it inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(SET_USER_SQL, [str(user.pk) if user is not None and user.pk else ""])
    if not _author_named_in(connection):
        transaction.on_commit(_author_named)


class ActingUserWrapper:
    """An execute wrapper that names a request's user before the first write of each database
    transaction that does not name its author already (set_acting_user())."""

    def __init__(self, user_id: str):
        self.user_id = user_id

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip()[:6].upper().startswith(_WRITES):
            return execute(sql, params, many, context)
        db = context["connection"]
        if db.in_atomic_block:
            if not _author_named_in(db):
                with db.cursor() as cursor:
                    cursor.execute(SET_USER_SQL, [self.user_id])
                transaction.on_commit(_author_named, using=db.alias)
            return execute(sql, params, many, context)
        with transaction.atomic(using=db.alias):
            with db.cursor() as cursor:
                cursor.execute(SET_USER_SQL, [self.user_id])
            return execute(sql, params, many, context)
