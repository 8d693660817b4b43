"""Every error of the API is JSON: a stable `code`, a message for people, and for invalid input the fields."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.services import SaleError
from system import outage
from transactions.services.checkout import CheckoutError
from transactions.services.refunds import RefundError, TransactionStateError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, fields=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.headers = fields, headers or {}


def error_response(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    body = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    response = api.create_response(request, body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _field_name(loc) -> str:
    """("body", "payload", "items", 0, "unit_price") -> "items.0.unit_price"; ("query", "limit") -> "limit"."""
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]
    elif parts:
        parts = parts[1:]
    return ".".join(parts) or "request"


# Messages for people where pydantic's would show a regular expression or a type name.
_FRIENDLY = {
    "string_pattern_mismatch": "Not in the expected form{example}.",
    "string_type": "A string is expected here{example}.",
}
_EXAMPLES = {
    "amount": ', e.g. "12.50" (money is a decimal string)',
    "unit_price": ', e.g. "4.50"',
    "currency": ', e.g. "USD"',
}


def _message(error: dict, field: str) -> str:
    template = _FRIENDLY.get(error.get("type", ""))
    if template is None:
        return str(error.get("msg", "Invalid value."))
    return template.format(example=_EXAMPLES.get(field.rsplit(".", 1)[-1], ""))


def _validation_fields(errors: list[dict]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        field = _field_name(error.get("loc", ()))
        fields.setdefault(field, _message(error, field))
    return fields


def install(api: NinjaAPI) -> None:
    def handle(exc_class, make):
        api.add_exception_handler(exc_class, lambda request, exc: error_response(api, request, make(exc)))

    handle(ApiError, lambda exc: exc)
    handle(
        ValidationError,
        lambda exc: ApiError(
            422,
            "invalid",
            "Some fields are not valid: " + ", ".join(_validation_fields(exc.errors)) + ".",
            fields=_validation_fields(exc.errors),
        ),
    )
    handle(
        AuthenticationError,
        lambda exc: ApiError(
            401,
            "unauthorized",
            "Send an active API key of this merchant: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": "Bearer"},
        ),
    )
    handle(Http404, lambda exc: ApiError(404, "not_found", "There is no such object here."))
    handle(
        HttpError,
        lambda exc: ApiError(
            exc.status_code,
            "bad_request",
            "The request body is not valid JSON." if exc.status_code == 400 else str(exc),
        ),
    )
    handle(SaleError, lambda exc: ApiError(422, exc.code, str(exc)))
    handle(CheckoutError, lambda exc: ApiError(422, "sale_refused", str(exc)))
    handle(TransactionStateError, lambda exc: ApiError(409, "invalid_state", str(exc)))
    handle(RefundError, lambda exc: ApiError(409, "refund_refused", str(exc)))

    def unexpected(request, exc):
        logger.exception("API request failed", exc_info=exc)
        return error_response(api, request, ApiError(500, "internal_error", "Something went wrong on our side."))

    def database_error(request, exc):
        if not outage.is_database_unavailable(exc):
            return unexpected(request, exc)
        return outage.unavailable_response(request, exc)  # 503 {"code": "database_unavailable", ...}

    api.add_exception_handler(Exception, unexpected)
    api.add_exception_handler(OperationalError, database_error)
    api.add_exception_handler(InterfaceError, database_error)
