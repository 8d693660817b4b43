"""The QR code of a customer's card page: a signed token that stops being accepted after a few minutes.

It names the customer by their id, not by the printed code, so a photo of it gives nothing
away; the counter accepts each token once. The printed card carries the bare customer code
instead (system/qr.py), which any scanner reads, unless a merchant accepts only these tokens.
"""

import hashlib

from django.core import signing

PREFIX = "LC1:"
SALT = "loyalty.card-token"


class TokenError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason  # expired_token or forged_token


def card_token(customer_id) -> str:
    return PREFIX + signing.TimestampSigner(salt=SALT).sign(str(customer_id))


def is_card_token(text: str) -> bool:
    return text.strip().startswith(PREFIX)


def customer_id_of(token: str, *, max_age_seconds: int) -> str:
    """The customer id inside a card token; raises TokenError when it is expired or forged."""
    try:
        return signing.TimestampSigner(salt=SALT).unsign(token.strip()[len(PREFIX) :], max_age=max_age_seconds)
    except signing.SignatureExpired as error:
        raise TokenError(
            "expired_token", "This card code has expired: ask the customer to reopen their card."
        ) from error
    except signing.BadSignature as error:
        raise TokenError("forged_token", "This card code is not one of ours.") from error


def card_secret_hash(secret: str) -> str:
    """What customers.card_token_hash holds for the secret in a card page's link (customers.services)."""
    return hashlib.sha256(secret.encode()).hexdigest()
