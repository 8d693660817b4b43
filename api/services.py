"""Writes of the point-of-sale API: keys, their request counters, stored responses, and sales made through a key."""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from api.models import ApiKey, IdempotencyRecord
from merchants.models import Merchant, User
from system.audit import set_acting_user
from system.db import columns, from_row
from system.settings_store import setting, settings_of
from transactions.models import Transaction
from transactions.services.checkout import Checkout, Item, checkout_complete

KEY_PREFIX = "lk_"


class ApiKeyError(ValueError):
    """A key change that is refused; the message says why."""


def key_hash(raw_key: str) -> str:
    """Keys are 256 random bits: a plain SHA-256 is enough (no slow hash needed against guessing)."""
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def api_key_create(*, merchant: Merchant, name: str, acting_user: User) -> tuple[ApiKey, str]:
    """A new key for a terminal of `merchant`; returns it with the raw key, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("Give the key a name, e.g. the till it is for.")
    set_acting_user(acting_user)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = raw[:10]
    service_user = User.objects.create_user(
        f"api-key-{secrets.token_hex(8)}@api-keys.invalid",
        None,  # an unusable password; and inactive: a key's user can never log in
        first_name="API key",
        last_name=name[:150],
        is_active=False,
    )
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                merchant=merchant,
                name=name,
                prefix=prefix,
                key_hash=key_hash(raw),
                user=service_user,
                created_by=acting_user,
            )
    except IntegrityError as error:
        raise ApiKeyError(f"An active key is named “{name}” already: give this one another name.") from error
    return key, raw


@transaction.atomic
def api_key_revoke(*, merchant: Merchant, key_id, acting_user: User) -> ApiKey:
    """Revoke a key of `merchant` at once; its next request is refused. Revoking twice changes nothing."""
    set_acting_user(acting_user)
    try:
        key = ApiKey.objects.get(pk=key_id, merchant=merchant)
    except (ApiKey.DoesNotExist, ValueError, TypeError) as error:
        raise ApiKey.DoesNotExist("No such key here.") from error
    ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now(), revoked_by=acting_user)
    key.refresh_from_db()
    return key


@dataclass
class KeyUse:
    key: ApiKey | None
    retry_after: int | None = None  # seconds, when over the rate limit


# One statement per request: find the key by its hash, count the request in the key's current
# window (a new window starts the count again), note the time, and return the key with its merchant
# and service user. The row lock is held for this statement only (autocommit), so two requests never
# lose a count.
_USE_SQL = f"""
    UPDATE api_keys k
       SET rate_count = CASE WHEN k.rate_window_start = w.start THEN k.rate_count + 1 ELSE 1 END,
           rate_window_start = w.start,
           last_used_at = now()
      FROM (SELECT to_timestamp(floor(extract(epoch FROM now()) / %(window)s) * %(window)s) AS start) w,
           merchants m, users u
     WHERE k.key_hash = %(hash)s AND k.revoked_at IS NULL AND m.id = k.merchant_id AND u.id = k.user_id
 RETURNING extract(epoch FROM w.start + make_interval(secs => %(window)s) - now()),
           {columns(ApiKey, "k")}, {columns(Merchant, "m")}, {columns(User, "u")}
"""
_KEY_FIELDS, _MERCHANT_FIELDS = len(ApiKey._meta.concrete_fields), len(Merchant._meta.concrete_fields)


def api_key_use(*, raw_key: str) -> KeyUse:
    """The active key behind `raw_key` (with its merchant and user), with this request counted against its
    rate limit; None if there is none."""
    if not raw_key or len(raw_key) > 200:
        return KeyUse(None)
    window, limit = settings_of("api.rate_limit_window_seconds", "api.rate_limit_requests")
    with connection.cursor() as cursor:  # one statement: its own transaction
        cursor.execute(_USE_SQL, {"window": window, "hash": key_hash(raw_key)})
        row = cursor.fetchone()
    if row is None:
        return KeyUse(None)
    seconds_left, row = row[0], row[1:]
    key = from_row(ApiKey, row[:_KEY_FIELDS])
    key.merchant = from_row(Merchant, row[_KEY_FIELDS : _KEY_FIELDS + _MERCHANT_FIELDS])
    key.user = from_row(User, row[_KEY_FIELDS + _MERCHANT_FIELDS :])
    if key.rate_count > limit:
        return KeyUse(key, retry_after=max(1, math.ceil(seconds_left)))
    return KeyUse(key)


def idempotency_record(*, api_key: ApiKey, key: str, fingerprint: str, status: int, body: str):
    """Store the answer to `key` at the end of the write's transaction; None when stored, else the record
    of the request that answered it first, which then stands.

    INSERT ... ON CONFLICT DO NOTHING waits for a request racing with the same key until its transaction
    ends: committed, its record is found; rolled back, this one is stored. A record older than
    api.idempotency_hours is replaced. A new key, the usual case, costs one statement.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("idempotency_record() must run in the transaction of the write it answers")
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO api_idempotency_records
                       (id, merchant_id, api_key_id, key, fingerprint, response_status, response_body, created_at)
                VALUES (gen_random_uuid(), %s, %s, %s, %s, %s, %s, now())
                ON CONFLICT (merchant_id, key) DO NOTHING
                RETURNING 1
                """,
                [api_key.merchant_id, api_key.pk, key, fingerprint, status, body],
            )
            if cursor.fetchone():
                return None
        record = IdempotencyRecord.objects.filter(merchant_id=api_key.merchant_id, key=key).first()
        expired = timezone.now() - timedelta(hours=max(24, setting("api.idempotency_hours")))
        if record is not None and record.created_at >= expired:
            return record
        with connection.cursor() as cursor:  # gone meanwhile, or too old to replay: store this answer instead
            cursor.execute(
                "DELETE FROM api_idempotency_records WHERE merchant_id = %s AND key = %s AND created_at < %s",
                [api_key.merchant_id, key, expired],
            )
    raise RuntimeError(f"could not store the answer to the Idempotency-Key {key!r}")


def idempotency_purge(*, now=None) -> int:
    """Forget the responses older than api.idempotency_hours (24 at least); returns how many."""
    hours = max(24, setting("api.idempotency_hours"))
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=(now or timezone.now()) - timedelta(hours=hours)
    ).delete()
    return deleted


class SaleError(ValueError):
    """A sale refused before it reaches the counter's rules; `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def sale_create(
    *,
    api_key: ApiKey,
    scan_id: UUID,
    customer_id: UUID,
    amount: Decimal,
    currency: str | None,
    payment_method: str,
    items: list[Item],
    points_to_redeem: int,
    external_reference: str,
    status: str,
    idempotency_key: str | None,
) -> tuple[Transaction, bool]:
    """A sale through the counter's own checkout, by the key's service user, for a scan the key made."""
    merchant = api_key.merchant
    if currency and currency != merchant.currency:
        raise SaleError("currency_mismatch", f"This merchant takes {merchant.currency}, not {currency}.")
    checkout = Checkout(
        scan_id=scan_id,
        customer_id=customer_id,
        amount=amount,
        payment_method=payment_method,
        idempotency_key=f"api:{idempotency_key}" if idempotency_key else f"api:{secrets.token_hex(16)}",
        points_to_redeem=points_to_redeem,
        items=items,
        external_reference=external_reference,
        status=status,
    )
    # A refusal rolls back the request's whole transaction (api.idempotency), so no savepoint is needed.
    return checkout_complete(merchant=merchant, user=api_key.user, checkout=checkout, savepoint=False)
