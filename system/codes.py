"""Customer and merchant codes: random, easy to type, with a check character.

The alphabet leaves out 0, O, 1, I and U, so what is read aloud or typed is unambiguous,
and has 31 symbols, a prime: the last character makes the weighted sum
sum(position * value) a multiple of 31, which catches every single wrong character and
every swap of two neighbours. The SQL functions `loyalty_code()` and
`loyalty_code_is_valid()` (migration system 0001) implement the same rule.
"""

import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTVWXYZ"
BASE = len(ALPHABET)  # 31
MERCHANT_CODE_LENGTH = 9  # 8 random characters and a check character
CUSTOMER_CODE_LENGTH = 11  # 10 random characters and a check character


class CodeError(ValueError):
    """A code that cannot be anyone's; `reason` is 'malformed' or 'bad_check_character'."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_character(body: str) -> str:
    total = sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body))
    position = len(body) + 1
    return ALPHABET[(-total * pow(position, -1, BASE)) % BASE]


def generate(length: int) -> str:
    if not 2 <= length <= BASE - 1:
        raise ValueError(f"A code has 2 to {BASE - 1} characters, not {length}.")
    body = "".join(secrets.choice(ALPHABET) for _ in range(length - 1))
    return body + check_character(body)


def is_valid(code: str) -> bool:
    if not code or len(code) > BASE - 1 or any(c not in ALPHABET for c in code):
        return False
    return sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(code)) % BASE == 0


def compact(text: str) -> str:
    """A code as typed, upper-cased, without spaces and dashes."""
    return "".join((text or "").split()).replace("-", "").upper()


def normalize(text: str, length: int) -> str:
    """Uppercase, drop spaces and dashes, and check; raises CodeError with a clear message."""
    code = compact(text)
    if len(code) != length or any(c not in ALPHABET for c in code):
        raise CodeError("malformed", f"A code has {length} characters from {ALPHABET}; got {text!r}.")
    if not is_valid(code):
        raise CodeError("bad_check_character", f"{code} is not a valid code: check for a mistyped character.")
    return code


def mask_code(code: str) -> str:
    """A code shown to staff without the part that finds the customer: its last 4 characters only, "•••• 7K2Q"."""
    code = compact(code)
    return f"•••• {code[-4:]}" if code else ""
