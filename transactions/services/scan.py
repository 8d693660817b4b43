"""The counter's scans: a scanned code or card token becomes a customer, every attempt is logged, and too
many failed scans pause scanning."""

import contextlib
import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from customers import card_codes, phones, tokens
from customers.models import Customer
from merchants.access import MANAGERS
from merchants.models import Merchant, MerchantStaff, User
from system import codes
from system.audit import set_acting_user
from system.db import columns, from_row
from system.models import QRScanLog
from system.settings_store import setting, settings_of
from transactions import selectors
from transactions.models import ScanPauseLift

Result = QRScanLog.Result


@dataclass
class ScanOutcome:
    result: str
    message: str
    customer: Customer | None = None
    log: QRScanLog | None = None

    @property
    def ok(self) -> bool:
        return self.result == Result.SUCCESS


class ScanPauseError(Exception):
    pass


@dataclass(frozen=True)
class _Limits:
    """The scan rate limits: a user's allowance of failed scans in `window`, and how long a pause lasts."""

    allowed: dict[str, int]
    window: timedelta
    block: timedelta

    @classmethod
    def now(cls) -> "_Limits":
        limit, window_minutes, block_minutes = settings_of(
            "scan.max_failures", "scan.failure_window_minutes", "scan.block_minutes"
        )
        return cls(
            {"user": limit, "address": 3 * limit}, timedelta(minutes=window_minutes), timedelta(minutes=block_minutes)
        )

    def paused_until(self, who: str, times: list[datetime], now: datetime) -> datetime | None:
        """When the pause that these failed scans (the first read of each wrong code) caused ends, if it runs now."""
        times, allowed = sorted(times), self.allowed[who]
        ends = [
            times[i] + self.block
            for i in range(allowed - 1, len(times))
            if times[i] - times[i - allowed + 1] <= self.window and now - times[i] <= self.block
        ]
        return max(ends, default=None)


def scan_is_rate_limited(*, merchant: Merchant, user: User, ip_address: str | None) -> bool:
    """Too many failed scans by this user, or from this address, in a short window: paused for a while, or until
    an owner, a manager or a platform admin lifts the pause (scan_pause_lift).

    The same wrong code read again and again (a camera resting on it) counts once; an address,
    which a shop's devices share, has three times a user's allowance.
    """
    limits, now = _Limits.now(), timezone.now()
    found = selectors.failed_scans(
        merchant=merchant, since=now - limits.window - limits.block, user=user, ip_address=ip_address
    )
    return any(limits.paused_until(who, found[who], now) for who in ("user", "address"))


@dataclass
class ScanPause:
    """A user, or an address, whose scans are paused at a merchant until `until`."""

    kind: str  # "user" or "address"
    name: str  # the user's id, or the address
    until: datetime
    user: User | None = None

    def __str__(self):
        return self.user.email if self.user else f"the address {self.name}"


def scan_pauses(*, merchant: Merchant) -> list[ScanPause]:
    """The scan pauses running at `merchant`, the longest first."""
    limits, now = _Limits.now(), timezone.now()
    found = selectors.failed_scans_here(merchant=merchant, since=now - limits.window - limits.block)
    pauses = [
        ScanPause(kind, name, until)
        for (kind, name), times in found.items()
        if (until := limits.paused_until(kind, times, now))
    ]
    users = {str(pk): user for pk, user in User.objects.in_bulk([p.name for p in pauses if p.kind == "user"]).items()}
    for pause in pauses:
        pause.user = users.get(pause.name)
    return sorted(pauses, key=lambda p: (p.until, p.kind, p.name), reverse=True)


def may_lift_scan_pauses(*, merchant: Merchant, user: User) -> bool:
    """An owner or a manager of `merchant`, or a platform admin allowed to lift pauses."""
    if user.has_perm("transactions.add_scanpauselift"):
        return True
    return MerchantStaff.objects.filter(merchant=merchant, user=user, is_active=True, role__in=MANAGERS).exists()


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


@transaction.atomic
def scan_pause_lift(*, merchant: Merchant, acting_user: User, kind: str, name: str) -> ScanPauseLift:
    """Lift the running scan pause of a user (`kind` "user", `name` their id) or of an address ("address", the
    address) at `merchant`: its failed scans so far stop counting there, and nowhere else. Recorded in
    scan_pause_lifts and audit_logs. Raises ScanPauseError for someone who may not, or when no such pause runs."""
    if not may_lift_scan_pauses(merchant=merchant, user=acting_user):
        raise ScanPauseError("Only an owner or a manager of this merchant can lift a scan pause.")
    name = str(name).strip()
    pause = next(
        (
            p
            for p in scan_pauses(merchant=merchant)
            if p.kind == kind and (str(p.name) == name if kind == "user" else _same_address(p.name, name))
        ),
        None,
    )
    if pause is None:
        raise ScanPauseError("No such scan pause is running here: it may have ended or been lifted already.")
    set_acting_user(acting_user)
    return ScanPauseLift.objects.create(
        merchant=merchant,
        scanned_by=pause.user if kind == "user" else None,
        ip_address=pause.name if kind == "address" else None,
        lifted_by=acting_user,
    )


# One round trip: the token's customer, and its use recorded unless the token was used already. The primary key
# of card_token_uses decides between two counters scanning it at the same instant: the second insert waits for
# the first to commit and then does nothing. Only an active customer's scan uses the token.
_TOKEN_USE_SQL = f"""
    WITH t AS (SELECT {columns(Customer, "t")} FROM customers c {selectors.TARGET_JOIN} WHERE c.id = %(customer)s),
         used AS (INSERT INTO card_token_uses (token_digest, customer_id, used_at)
                  SELECT %(digest)s, t.id, now() FROM t WHERE t.status = 'active'
                      ON CONFLICT (token_digest) DO NOTHING
                  RETURNING 1)
    SELECT t.*, EXISTS (SELECT 1 FROM used) FROM t
"""

# A short card code is used by one conditional update: of two counters typing it at once, one gets its customer.
_CARD_CODE_USE_SQL = f"""
    WITH k AS (UPDATE card_codes SET used_at = now()
                WHERE code = %s AND used_at IS NULL AND expires_at > now()
            RETURNING customer_id)
    SELECT {columns(Customer, "t")} FROM k JOIN customers c ON c.id = k.customer_id {selectors.TARGET_JOIN}
"""

_UNKNOWN = "No customer has this code."
_USED = "This card code was used already: ask the customer to reopen their card."


def _card_token_use(text: str) -> ScanOutcome | Customer:
    try:
        customer_id = UUID(tokens.customer_id_of(text, max_age_seconds=setting("card.token_max_age_seconds")))
    except tokens.TokenError as error:
        return ScanOutcome(error.reason, str(error))
    except ValueError:  # signed by us, yet not an id: never issued
        return ScanOutcome(Result.FORGED_TOKEN, "This card code is not one of ours.")
    digest = hashlib.sha256(text.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_USE_SQL, {"customer": customer_id, "digest": digest})
        row = cursor.fetchone()
    if row is None:
        return ScanOutcome(Result.UNKNOWN_CODE, _UNKNOWN)
    customer, used_now = from_row(Customer, row[:-1]), row[-1]
    if not used_now and customer.status == Customer.Status.ACTIVE:
        return ScanOutcome(Result.EXPIRED_TOKEN, _USED)
    return customer


def _card_code_use(text: str) -> ScanOutcome | Customer:
    code = card_codes.normalize(text)
    if code is None:
        return ScanOutcome(Result.MALFORMED, "This is not a customer code.")
    with connection.cursor() as cursor:
        cursor.execute(_CARD_CODE_USE_SQL, [code])
        row = cursor.fetchone()
    if row:
        return from_row(Customer, row)
    state = selectors.card_code_state(code)
    if state == "unknown":
        return ScanOutcome(Result.UNKNOWN_CODE, "No card shows this code: check it with the customer.")
    if state == "used":
        return ScanOutcome(Result.EXPIRED_TOKEN, _USED)
    return ScanOutcome(Result.EXPIRED_TOKEN, "This code has expired: ask the customer to reopen their card.")


def _printed_code(merchant: Merchant, text: str) -> ScanOutcome | Customer:
    try:
        code = codes.normalize(text, codes.CUSTOMER_CODE_LENGTH)
    except codes.CodeError as error:
        message = (
            "This is not a customer code."
            if error.reason == "malformed"
            else "This code has a mistyped character: check it and try again."
        )
        return ScanOutcome(error.reason, message)
    if not merchant.allow_static_codes:
        return ScanOutcome(
            Result.STATIC_CODE_REFUSED,
            "Printed codes are not accepted here: ask for the QR code on the customer's card page.",
        )
    return selectors.customer_by_code(code) or ScanOutcome(Result.UNKNOWN_CODE, _UNKNOWN)


def _checked(found: ScanOutcome | Customer) -> ScanOutcome:
    """A customer found is a success when active. Blocked and erased cards are no longer in use (an erased
    customer is not named in the scan log); an inactive one says so."""
    if isinstance(found, ScanOutcome):
        return found
    if found.status == Customer.Status.ACTIVE:
        return ScanOutcome(Result.SUCCESS, found.full_name, found)
    if found.status == Customer.Status.ERASED:
        return ScanOutcome(Result.INACTIVE_CUSTOMER, "This card is no longer in use.")
    if found.status in (Customer.Status.BLOCKED, Customer.Status.MERGED):  # merged: into one merged in turn
        return ScanOutcome(Result.INACTIVE_CUSTOMER, "This card is no longer in use.", found)
    return ScanOutcome(Result.INACTIVE_CUSTOMER, f"This customer's card is {found.status}.", found)


def _identify(merchant: Merchant, text: str) -> ScanOutcome:
    """A live card token (the card page's QR), a short card code (typed from the card page; accepted even where
    printed codes are not, being single use like the tokens) or a printed customer code."""
    if tokens.is_card_token(text):
        return _checked(_card_token_use(text))
    if card_codes.looks_like(text):
        return _checked(_card_code_use(text))
    return _checked(_printed_code(merchant, text))


_LOG_SCAN_SQL = f"""
    INSERT INTO qr_scan_logs AS s (id, merchant_id, scanned_by_id, scanned_code, scan_result, customer_id,
                                   ip_address, user_agent, created_at)
    VALUES (gen_random_uuid(), %(merchant)s, %(user)s, %(code)s, %(result)s, %(customer)s, %(ip)s, %(user_agent)s,
            now())
 RETURNING {columns(QRScanLog, "s")}
"""


def _rate_limited() -> ScanOutcome:
    return ScanOutcome(
        Result.RATE_LIMITED,
        f"Too many failed scans: scanning is paused for up to {setting('scan.block_minutes')} minutes,"
        " or until an owner or a manager lifts the pause on the counter page.",
    )


def _resolve(*, merchant, user, logged_code: str, identify, ip_address, user_agent, uses_once=False) -> ScanOutcome:
    """identify() unless scanning is paused, and the attempt logged as `logged_code`. When identify() uses up a
    card token or a short code (`uses_once`), the use and the log line commit together (one commit, too, where
    two would cost more); a printed code's lookup and its log line need no transaction around them."""
    with transaction.atomic(savepoint=False) if uses_once else contextlib.nullcontext():
        if scan_is_rate_limited(merchant=merchant, user=user, ip_address=ip_address):
            outcome = _rate_limited()
        else:
            outcome = identify()
        with connection.cursor() as cursor:  # plain SQL: every scan writes one
            cursor.execute(
                _LOG_SCAN_SQL,
                {
                    "merchant": merchant.pk,
                    "user": user.pk,
                    "code": logged_code,
                    "result": outcome.result,
                    "customer": outcome.customer.pk if outcome.customer else None,
                    "ip": ip_address or None,
                    "user_agent": (user_agent or "").replace("\x00", "")[:1000],
                },
            )
            outcome.log = from_row(QRScanLog, cursor.fetchone())
    return outcome


def scan_resolve(
    *, merchant: Merchant, user: User, text: str, ip_address: str | None = None, user_agent: str = ""
) -> ScanOutcome:
    """Turn what the camera or the cashier read into a customer; every attempt is logged (as read: a short code
    or a token is worthless once used or expired)."""
    text = (text or "").replace("\x00", "").strip()[:512]
    return _resolve(
        merchant=merchant,
        user=user,
        logged_code=text,
        identify=lambda: _identify(merchant, text),
        ip_address=ip_address,
        user_agent=user_agent,
        uses_once=tokens.is_card_token(text) or card_codes.looks_like(text),
    )


def phone_mask(e164: str) -> str:
    """How a phone lookup is logged: its last 4 digits, "phone …0123"."""
    return f"phone …{e164[-4:]}"


def scan_by_phone(
    *, merchant: Merchant, user: User, text: str, ip_address: str | None = None, user_agent: str = ""
) -> ScanOutcome:
    """Find a member here by the phone number they tell the cashier, as a scan: the number is read in the
    merchant's country (customers.phones.normalize; raises PhoneError, logging nothing, for what is not a
    number), matched exactly among the customers with an account here only, and logged masked; a failed lookup
    counts toward the scan pause. The cashier then confirms the name with the customer."""
    phone = phones.normalize(text, timezone_name=merchant.timezone)
    if not phone:
        raise phones.PhoneError("Type the customer's phone number.")

    def identify():
        found = selectors.member_by_phone(merchant=merchant, phone=phone)
        return _checked(found or ScanOutcome(Result.UNKNOWN_CODE, "No member here has this number."))

    return _resolve(
        merchant=merchant,
        user=user,
        logged_code=phone_mask(phone),
        identify=identify,
        ip_address=ip_address,
        user_agent=user_agent,
    )
