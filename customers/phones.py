"""Phone numbers in one form, E.164 ("+14155550123"), so one phone is one customer (the unique constraint on
customers.phone) and the counter finds a member by the number as typed. Parsed by `phonenumbers`, Google's
libphonenumber metadata; a number without a country code is read in the merchant's country, the one its time
zone lies in (the tz database's zone.tab), else PHONE_DEFAULT_REGION."""

from functools import cache
from importlib import resources

import phonenumbers
from django.conf import settings


class PhoneError(ValueError):
    """A phone number that is not one; the message says why, for the person who typed it."""


@cache
def _regions_by_zone() -> dict[str, str]:
    regions = {}
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, zone, *_ = line.split("\t")
            regions[zone] = country
    return regions


def region_of(timezone_name: str | None) -> str | None:
    """The country (ISO 3166 code) a time zone lies in, else PHONE_DEFAULT_REGION, else None."""
    return _regions_by_zone().get(timezone_name or "") or getattr(settings, "PHONE_DEFAULT_REGION", "") or None


def normalize(text: str, *, timezone_name: str | None = None) -> str:
    """`text` as E.164; "" for blank. Raises PhoneError for anything that is not a possible number."""
    text = (text or "").replace("\x00", "").strip()
    if not text:
        return ""
    if len(text) > 40:
        raise PhoneError("That is too long for a phone number.")
    try:
        number = phonenumbers.parse(text, region_of(timezone_name))
    except phonenumbers.NumberParseException as error:
        raise PhoneError("Enter a phone number with its country code, e.g. +44 20 7946 0958.") from error
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("That is not a valid phone number: check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """A stored number the way people write it: "+1 415-555-0123"."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
