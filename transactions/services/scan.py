"""The counter's scans: a scanned code or card token becomes a customer, every attempt is logged, and too
many failed scans pause scanning."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from customers import tokens
from customers.models import Customer
from merchants.models import Merchant, User
from system import codes
from system.db import columns, from_row
from system.models import QRScanLog
from system.settings_store import setting, settings_of
from transactions import selectors

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


def scan_is_rate_limited(*, merchant: Merchant, user: User, ip_address: str | None) -> bool:
    """Too many failed scans by this user, or from this address, in a short window: paused for a while.

    The same wrong code read again and again (a camera resting on it) counts once; an address,
    which a shop's devices share, has three times a user's allowance.
    """
    limit, window_minutes, block_minutes = settings_of(
        "scan.max_failures", "scan.failure_window_minutes", "scan.block_minutes"
    )
    window, block = timedelta(minutes=window_minutes), timedelta(minutes=block_minutes)
    now = timezone.now()
    found = selectors.failed_scans(merchant=merchant, since=now - window - block, user=user, ip_address=ip_address)
    for who, allowed in (("user", limit), ("address", 3 * limit)):
        times = sorted(found[who])
        for i in range(allowed - 1, len(times)):
            if times[i] - times[i - allowed + 1] <= window and now - times[i] <= block:
                return True
    return False


def _identify(merchant: Merchant, text: str) -> ScanOutcome:
    if tokens.is_card_token(text):
        try:
            customer_id = tokens.customer_id_of(text, max_age_seconds=setting("card.token_max_age_seconds"))
        except tokens.TokenError as error:
            return ScanOutcome(error.reason, str(error))
        customer = selectors.customer_by_id(customer_id)
        if customer is None:
            return ScanOutcome(Result.UNKNOWN_CODE, "No customer has this code.")
        if selectors.card_token_used(customer=customer, token=text):
            return ScanOutcome(
                Result.EXPIRED_TOKEN, "This card code was used already: ask the customer to reopen their card."
            )
    else:
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
        customer = selectors.customer_by_code(code)
        if customer is None:
            return ScanOutcome(Result.UNKNOWN_CODE, "No customer has this code.")
    if customer.status != Customer.Status.ACTIVE:
        return ScanOutcome(Result.INACTIVE_CUSTOMER, f"This customer's card is {customer.status}.", customer)
    return ScanOutcome(Result.SUCCESS, customer.full_name, customer)


_LOG_SCAN_SQL = f"""
    INSERT INTO qr_scan_logs AS s (id, merchant_id, scanned_by_id, scanned_code, scan_result, customer_id,
                                   ip_address, user_agent, created_at)
    VALUES (gen_random_uuid(), %(merchant)s, %(user)s, %(code)s, %(result)s, %(customer)s, %(ip)s, %(user_agent)s,
            now())
 RETURNING {columns(QRScanLog, "s")}
"""


def scan_resolve(
    *, merchant: Merchant, user: User, text: str, ip_address: str | None = None, user_agent: str = ""
) -> ScanOutcome:
    """Turn what the camera or the cashier read into a customer; every attempt is logged."""
    text = (text or "").replace("\x00", "").strip()[:512]
    if scan_is_rate_limited(merchant=merchant, user=user, ip_address=ip_address):
        outcome = ScanOutcome(
            Result.RATE_LIMITED,
            f"Too many failed scans: scanning is paused for up to {setting('scan.block_minutes')} minutes.",
        )
    else:
        outcome = _identify(merchant, text)
    with connection.cursor() as cursor:  # plain SQL: every scan writes one
        cursor.execute(
            _LOG_SCAN_SQL,
            {
                "merchant": merchant.pk,
                "user": user.pk,
                "code": text,
                "result": outcome.result,
                "customer": outcome.customer.pk if outcome.customer else None,
                "ip": ip_address or None,
                "user_agent": (user_agent or "").replace("\x00", "")[:1000],
            },
        )
        outcome.log = from_row(QRScanLog, cursor.fetchone())
    return outcome
