"""Writes of customers: the secret of their card page's link, the short codes it shows."""

import secrets

from django.db import connection, transaction

from customers import card_codes
from customers.models import CardCode, Customer
from customers.tokens import card_secret_hash
from system.audit import set_acting_user
from system.settings_store import setting


@transaction.atomic
def card_link_issue(*, customer: Customer, acting_user=None) -> str:
    """A new secret for the customer's card page link, returned once, to go into the link sent to them or the
    redirect to their card; only its hash is stored, so the link before it stops working at once."""
    secret = secrets.token_hex(32)
    set_acting_user(acting_user)
    Customer.objects.filter(pk=customer.pk).update(card_token_hash=card_secret_hash(secret))
    customer.card_token_hash = card_secret_hash(secret)
    return secret


# Short card codes (customers.card_codes): a new one is drawn until it is free. A live code keeps its row; an
# expired one's row is taken over, so the table holds about as many rows as codes live at a busy minute.
_CARD_CODE_SQL = """
    INSERT INTO card_codes AS k (code, customer_id, created_at, expires_at, used_at)
    VALUES (%(code)s, %(customer)s, now(), now() + make_interval(mins => %(minutes)s), NULL)
        ON CONFLICT (code) DO UPDATE
       SET customer_id = excluded.customer_id, created_at = excluded.created_at,
           expires_at = excluded.expires_at, used_at = NULL
     WHERE k.expires_at <= now()
 RETURNING k.created_at, k.expires_at
"""
_CARD_CODE_ATTEMPTS = 20


@transaction.atomic
def card_code_issue(*, customer: Customer) -> CardCode:
    """A new short code for `customer`'s card page, good for `privacy.card_code_minutes` and one scan at a
    counter. The customer's earlier codes stay good until they expire, like the QR codes shown before."""
    minutes = setting("privacy.card_code_minutes")
    with connection.cursor() as cursor:
        for _ in range(_CARD_CODE_ATTEMPTS):
            code = "".join(secrets.choice(card_codes.ALPHABET) for _ in range(card_codes.LENGTH))
            cursor.execute(_CARD_CODE_SQL, {"code": code, "customer": customer.pk, "minutes": minutes})
            row = cursor.fetchone()
            if row:  # else a live code holds it: draw again
                return CardCode(code=code, customer=customer, created_at=row[0], expires_at=row[1])
    raise RuntimeError(f"No free card code in {_CARD_CODE_ATTEMPTS} draws: are the expired ones purged?")


@transaction.atomic
def card_codes_purge(*, older_than_hours: int = 24) -> int:
    """Delete short card codes expired more than `older_than_hours` ago (used or not); returns how many. Safe to
    run at any time: an expired code is refused whether or not its row is there."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM card_codes WHERE expires_at < now() - make_interval(hours => %s)", [older_than_hours]
        )
        return cursor.rowcount


@transaction.atomic
def card_token_uses_purge() -> int:
    """Delete the records of card tokens used longer ago than a token is accepted (card.token_max_age_seconds,
    with a minute to spare): such a token is refused as expired anyway. Returns how many."""
    seconds = setting("card.token_max_age_seconds") + 60
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM card_token_uses WHERE used_at < now() - make_interval(secs => %s)", [seconds])
        return cursor.rowcount
