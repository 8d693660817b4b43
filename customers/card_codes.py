"""The short code a card page shows beside its QR code, for a cashier to type when the camera cannot read it
(customers.services.card_code_issue writes them; the counter uses each once).

Six characters from an alphabet without 0, O, 1, I and L, so what is read aloud or typed is unambiguous; no
check character: a code is good for a few minutes and one sale, and a wrong one is a failed scan, which the
counter's scan pause limits. Typed in any case, with or without spaces and dashes.
"""

from system.codes import compact

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # unlike printed codes', no L: read aloud, it passes for a 1
LENGTH = 6


def looks_like(text: str) -> bool:
    """Text of a short code's length (the counter's other codes are longer): read as a short code."""
    return len(compact(text)) == LENGTH


def normalize(text: str) -> str | None:
    """The code in `text`, or None when it cannot be one."""
    code = compact(text)
    return code if len(code) == LENGTH and all(c in ALPHABET for c in code) else None


def display(code: str) -> str:
    """As the card page shows it: "ABC 123"."""
    return f"{code[:3]} {code[3:]}"
