"""Writes of customers: the secret of their card page's link, the short codes it shows, erasure of their
personal data and its requests."""

import secrets
from dataclasses import dataclass

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Replace
from django.urls import reverse
from django.utils import timezone

from customers import card_codes
from customers.models import CardCode, CardTokenUse, Customer, ErasureRequest, PhoneDuplicate
from customers.tokens import card_secret_hash
from system.audit import set_acting_user
from system.mail import queue_email
from system.models import FraudFlag
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
    """Delete the records of card tokens used more than a day longer ago than a token is accepted
    (card.token_max_age_seconds): such a token is refused as expired anyway, even after the setting is raised.
    Returns how many."""
    seconds = setting("card.token_max_age_seconds") + 86400
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM card_token_uses WHERE used_at < now() - make_interval(secs => %s)", [seconds])
        return cursor.rowcount


# --- Erasure, card links sent by an operator, and the customer's requests ----------------------------------------

ERASED_NAME = "Erased customer"  # what Customer.full_name says of an erased customer


class ErasureError(ValueError):
    """An erasure, or a request of one, that cannot be done; the message says why and nothing was changed."""


@dataclass(frozen=True)
class ErasureResult:
    customer: Customer
    already_erased: bool  # erased before: nothing more was changed (a pending request is closed)
    merged_customers: int = 0  # customers merged into this one, whose personal data went too
    card_codes: int = 0
    card_token_uses: int = 0
    phone_duplicates: int = 0
    phone_verifications: int = 0
    accounts: int = 0  # accounts that shared the email or phone with their merchant
    fraud_flags: int = 0  # flags whose reason named the customer
    requests_closed: int = 0
    log_rows_redacted: int = 0  # audit_logs and qr_scan_logs rows redact_customer_logs changed

    def lines(self) -> list[str]:
        """What was erased, one line each, for the command and the admin."""
        if self.already_erased:
            return ["This customer was erased already: nothing more to do."]
        figures = [
            ("customers merged into this one, erased too", self.merged_customers),
            ("short card codes deleted", self.card_codes),
            ("used card tokens deleted", self.card_token_uses),
            ("phone duplicates deleted", self.phone_duplicates),
            ("phone verifications deleted", self.phone_verifications),
            ("accounts no longer sharing an email or phone", self.accounts),
            ("fraud flags no longer naming them", self.fraud_flags),
            ("erasure requests marked done", self.requests_closed),
            ("audit and scan log rows redacted", self.log_rows_redacted),
        ]
        return ["Name, email, phone, date of birth and card link erased."] + [
            f"{label}: {count}" for label, count in figures if count
        ]


PERSONAL_BLANK = {
    "first_name": "",
    "last_name": "",
    "email": None,
    "phone": "",
    "date_of_birth": None,
    "card_token_hash": None,
}


@transaction.atomic
def customer_erase(*, customer: Customer, acting_user, reason: str) -> ErasureResult:
    """Erase a customer's personal data, keeping their sales, ledger, lots, visits and totals (the shops' records,
    now of "Erased customer"). One transaction, with the customer's row and those of the customers merged into
    it locked in primary-key order:

    - name, email, phone and date of birth blanked, the card link revoked, status erased, erased_at now (the
      customers merged into this one, the same person, lose their personal data and link too, staying merged);
    - their short card codes, used card tokens, phone duplicates and pending phone verifications deleted;
    - their accounts stop sharing an email or phone with the merchants; fraud flags' reasons stop naming them;
    - their pending erasure request is marked done, by `acting_user`;
    - then redact_customer_logs() redacts the personal values in their audit snapshots (the UPDATE above wrote
      one) and their scan log rows, and writes its own audit row with `reason`.

    Erasing twice changes nothing the second time. A merged customer is refused: erase the one it was merged into.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ErasureError(
            "Say why the customer is erased (their request, a court order...): it goes in the audit log."
        )
    set_acting_user(acting_user)
    rows = list(
        Customer.objects.select_for_update()
        .filter(models.Q(pk=customer.pk) | models.Q(merged_into=customer.pk))
        .order_by("pk")
    )
    target = next((row for row in rows if row.pk == customer.pk), None)
    if target is None:
        raise ErasureError("No such customer.")
    if target.status == Customer.Status.MERGED:
        into = Customer.objects.filter(pk=target.merged_into_id).first()
        raise ErasureError(
            f"This customer was merged into {into.customer_code if into else target.merged_into_id}:"
            " erase that customer instead."
        )
    ids = [row.pk for row in rows]
    now = timezone.now()
    pending = ErasureRequest.objects.filter(customer_id__in=ids, status=ErasureRequest.Status.PENDING)
    if target.status == Customer.Status.ERASED:
        closed = pending.update(status=ErasureRequest.Status.DONE, decided_by=acting_user, decided_at=now)
        customer.refresh_from_db()
        return ErasureResult(customer=customer, already_erased=True, requests_closed=closed)

    phones = sorted({row.phone for row in rows if row.phone})
    names = sorted({row.full_name for row in rows if row.full_name}, key=len, reverse=True)
    Customer.objects.filter(pk__in=ids).update(**PERSONAL_BLANK, erased_at=now)
    Customer.objects.filter(pk=target.pk).update(status=Customer.Status.ERASED)
    card_codes, _ = CardCode.objects.filter(customer_id__in=ids).delete()
    token_uses, _ = CardTokenUse.objects.filter(customer_id__in=ids).delete()
    duplicates = PhoneDuplicate.objects.filter(customer_id__in=ids)
    phones = sorted(set(phones) | set(duplicates.values_list("phone", flat=True)))
    phone_duplicates, _ = duplicates.delete()
    flags = 0
    for name in names:
        flags += FraudFlag.objects.filter(customer_id__in=ids, reason__contains=name).update(
            reason=Replace(F("reason"), Value(name), Value(ERASED_NAME))
        )
    with connection.cursor() as cursor:
        # Tables of the loyalty app, above this one: written in SQL, so customers imports nothing from it.
        cursor.execute(
            "UPDATE customer_loyalty_accounts SET shares_email = false, shares_phone = false"
            " WHERE customer_id = ANY(%s) AND (shares_email OR shares_phone)",
            [ids],
        )
        accounts = cursor.rowcount
        cursor.execute("DELETE FROM phone_verifications WHERE phone = ANY(%s)", [phones])
        verifications = cursor.rowcount
    closed = pending.update(
        status=ErasureRequest.Status.DONE, decided_by=acting_user, decided_at=now, note=reason[:255]
    )
    redacted = 0
    with connection.cursor() as cursor:
        for customer_id in ids:
            cursor.execute("SELECT redact_customer_logs(%s, %s)", [customer_id, reason])
            redacted += cursor.fetchone()[0]
    customer.refresh_from_db()
    return ErasureResult(
        customer=customer,
        already_erased=False,
        merged_customers=len(ids) - 1,
        card_codes=card_codes,
        card_token_uses=token_uses,
        phone_duplicates=phone_duplicates,
        phone_verifications=verifications,
        accounts=accounts,
        fraud_flags=flags,
        requests_closed=closed,
        log_rows_redacted=redacted,
    )


def erasure_request(*, customer: Customer) -> tuple[ErasureRequest, bool]:
    """The customer's request, from their card page, that their data be erased: (the pending request, whether it
    is new). A second request while one is pending gets that one; two at once make one (the unique constraint on
    a customer's pending request)."""
    if customer.status in (Customer.Status.ERASED, Customer.Status.MERGED):
        raise ErasureError("This card's data has been erased or moved to another card already.")
    for _ in range(2):
        existing = ErasureRequest.objects.filter(customer=customer, status=ErasureRequest.Status.PENDING).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                set_acting_user(None)
                return ErasureRequest.objects.create(customer=customer), True
        except IntegrityError:
            continue  # another request of this customer committed first: it is the one
    raise ErasureError("Your request could not be recorded: try again.")


@transaction.atomic
def erasure_request_decline(*, erasure_request: ErasureRequest, acting_user, note: str) -> bool:
    """An operator declines a pending request, saying why; False when it was no longer pending."""
    note = (note or "").strip()
    if not note:
        raise ErasureError("Say why the request is declined.")
    set_acting_user(acting_user)
    return bool(
        ErasureRequest.objects.filter(pk=erasure_request.pk, status=ErasureRequest.Status.PENDING).update(
            status=ErasureRequest.Status.DECLINED, decided_by=acting_user, decided_at=timezone.now(), note=note[:255]
        )
    )


@transaction.atomic
def erasure_request_confirm(*, erasure_request: ErasureRequest, acting_user) -> ErasureResult:
    """An operator confirms a pending request: the customer is erased and the request marked done."""
    locked = ErasureRequest.objects.select_for_update().filter(pk=erasure_request.pk).first()
    if locked is None or locked.status != ErasureRequest.Status.PENDING:
        raise ErasureError("This request is no longer pending.")
    when = timezone.localtime(locked.created_at).strftime("%Y-%m-%d %H:%M %Z")
    return customer_erase(customer=locked.customer, acting_user=acting_user, reason=f"The customer's request of {when}")


@transaction.atomic
def card_link_rotate(*, secret: str) -> str | None:
    """The card page's "new link": a new secret for the card `secret` opens, the old link stopping at once; None
    when `secret` opens nothing any more (a rotation that committed first). A merged customer's link shows the
    card it was merged into: that card gets the new link and the merged one's link is revoked."""
    set_acting_user(None)
    holder = Customer.objects.select_for_update().filter(card_token_hash=card_secret_hash(secret)).first()
    if holder is None or holder.status == Customer.Status.ERASED:
        return None
    if holder.status != Customer.Status.MERGED:
        return card_link_issue(customer=holder)
    Customer.objects.filter(pk=holder.pk).update(card_token_hash=None)
    return card_link_issue(customer=Customer.objects.get(pk=holder.merged_into_id))


@dataclass(frozen=True)
class LinkSent:
    emailed: bool  # False: the link was revoked, the customer having no email


@transaction.atomic
def card_link_send(*, customer: Customer, acting_user, base_url: str) -> LinkSent:
    """An operator's "send a new card link": the link rotates and the new one is emailed to the customer; without
    an email the link is revoked, and the customer gets a new one by recovering their card with their phone. The
    operator never sees the secret."""
    set_acting_user(acting_user)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.status in (Customer.Status.ERASED, Customer.Status.MERGED):
        raise ErasureError(f"{locked.customer_code} is {locked.status}: it has no card link of its own.")
    if not locked.email:
        Customer.objects.filter(pk=locked.pk).update(card_token_hash=None)
        customer.card_token_hash = None
        return LinkSent(emailed=False)
    secret = card_link_issue(customer=locked, acting_user=acting_user)
    link = base_url.rstrip("/") + reverse("card", args=[secret])
    queue_email(
        subject="Your new loyalty card link",
        body=(
            f"Hello {locked.first_name},\n\nHere is the new link to your loyalty card:\n\n{link}\n\n"
            "The link you had before no longer works. Keep this one to yourself: anyone with it can show your card.\n"
        ),
        to=[locked.email],
    )
    customer.card_token_hash = locked.card_token_hash
    return LinkSent(emailed=True)
