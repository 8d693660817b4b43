"""Tell the audit trigger who is acting: `app.user_id`, set per database transaction."""

from django.db import connection, transaction

SET_USER_SQL = "SELECT set_config('app.user_id', %s, true)"
_WRITES = ("INSERT", "UPDATE", "DELETE")


def set_acting_user(user) -> None:
    """Record `user` (or nobody) as the author of the current database transaction's changes."""
    if not connection.in_atomic_block:
        raise RuntimeError("set_acting_user() names the author of a transaction: call it inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(SET_USER_SQL, [str(user.pk) if user is not None and user.pk else ""])


class ActingUserWrapper:
    """An execute wrapper that sets `app.user_id` before every write of a request's user."""

    def __init__(self, user_id: str):
        self.user_id = user_id

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip()[:6].upper().startswith(_WRITES):
            return execute(sql, params, many, context)
        db = context["connection"]
        if db.in_atomic_block:
            with db.cursor() as cursor:
                cursor.execute(SET_USER_SQL, [self.user_id])
            return execute(sql, params, many, context)
        with transaction.atomic(using=db.alias):
            with db.cursor() as cursor:
                cursor.execute(SET_USER_SQL, [self.user_id])
            return execute(sql, params, many, context)
