"""/api/v1/: the point-of-sale API over the counter's own services. These functions are the views: thin."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.http import Http404
from ninja import NinjaAPI, Query, Status
from ninja.security import HttpBearer

from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from api import schemas, selectors, services
from api.errors import ApiError, error_response, install
from api.idempotency import HEADER_DOC, idempotent
from customers import selectors as customer_selectors
from loyalty import selectors as loyalty_selectors
from merchants.models import Merchant
from system.models import QRScanLog
from system.settings_store import setting
from system.urls_util import client_ip
from transactions.services import checkout, refunds, scan

DESCRIPTION = """
The loyalty system for a merchant's till: resolve a scanned code, record sales, refund them,
read a customer's points and the merchant's days.

* **Auth**: `Authorization: Bearer <key>`, a key the merchant's owner creates under **API keys**. A key
  sees its merchant only: anything else is a 404.
* **Rate limit**: `api.rate_limit_requests` requests per key per `api.rate_limit_window_seconds`
  (120 a minute); past it, 429 with `Retry-After`.
* **Writes** accept an `Idempotency-Key` header: a retry with the same key and body returns the first
  response (with `Idempotent-Replayed: true`) and changes nothing; the same key with another body is a 409.
  Keys are kept for 24 hours.
* **Errors** are JSON: `{"code": "...", "message": "...", "fields": {...}}`; `code` is stable.
* **Retries**: retry a `503` (`database_unavailable`: the database is restarting) and a `429` after
  `Retry-After` seconds, a write with the same `Idempotency-Key`; a write whose answer never came (a timeout,
  a dropped connection) the same way. Never retry another 4xx unchanged: it will be refused again.
* **Money** is a decimal string (`"12.50"`), in the merchant's currency. **Times** are ISO 8601 with the
  merchant's offset.
"""

ERRORS = {code: schemas.Error for code in (400, 401, 403, 404, 409, 422, 429, 503)}


class KeyAuth(HttpBearer):
    def authenticate(self, request, token):
        use = services.api_key_use(raw_key=token)
        if use.key is None:
            return None
        if use.key.merchant.status == Merchant.Status.SUSPENDED:
            raise ApiError(403, "merchant_suspended", "This merchant is suspended.")
        if use.retry_after:
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests with this key: try again in {use.retry_after} s.",
                headers={"Retry-After": str(use.retry_after)},
            )
        return use.key


api = NinjaAPI(
    title="Loyalty point-of-sale API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=KeyAuth(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install(api)
writes = {"parameters": [HEADER_DOC]}


# Scans


@api.post("/scans", response={200: schemas.ScanOut, **ERRORS}, tags=["scans"], openapi_extra=writes)
@idempotent(api)
def scan_resolve(request, payload: schemas.ScanIn):
    """Resolve a scanned or typed code to the customer and their points here: a card token (the card page's QR
    code) or the short code shown beside it, each good for one scan, or a printed customer code (refused with
    `static_code_refused` where the merchant takes only the card page's codes). A used short code or token is
    refused with `expired_token`, an unknown one with `unknown_code`.

    Every call is written to the scan log, and failed ones count toward the scan pause (429). A success's
    `scan_id` is good for one sale by this key. The customer's `code` comes masked to its last 4 characters.
    """
    key = request.auth
    outcome = scan.scan_resolve(
        merchant=key.merchant,
        user=key.user,
        text=payload.code,
        ip_address=client_ip(request),
        user_agent=f"API key {key.prefix}… ({key.name}); " + request.META.get("HTTP_USER_AGENT", ""),
    )
    # A refused scan is answered, not raised: raising would roll back its line in the scan log (under an
    # Idempotency-Key the view runs in a transaction), and the failed-scan limits count those lines.
    if outcome.result == QRScanLog.Result.RATE_LIMITED:
        seconds = setting("scan.block_minutes") * 60
        refusal = ApiError(429, "scan_rate_limited", outcome.message, headers={"Retry-After": str(seconds)})
        return error_response(api, request, refusal)
    if not outcome.ok:
        return error_response(api, request, ApiError(422, outcome.result, outcome.message))
    standing = loyalty_selectors.account_standing(merchant=key.merchant, customer_id=outcome.customer.pk)
    return {
        "scan_id": outcome.log.pk,
        "customer": schemas.customer_out(outcome.customer),
        "points": standing.points,
        "tier": standing.tier,
    }


# Transactions


@api.post("/transactions", response={200: schemas.TransactionOut, 201: schemas.TransactionOut, **ERRORS},
          tags=["transactions"], openapi_extra=writes)  # fmt: skip
@idempotent(api)
def transaction_create(request, payload: schemas.TransactionIn):
    """Record a sale for a scan made by this key, completed (points move now) or pending.

    201 for a new sale; 200 when the same `Idempotency-Key` made this sale before.
    """
    sale, created = services.sale_create(
        api_key=request.auth,
        scan_id=payload.scan_id,
        customer_id=payload.customer_id,
        amount=Decimal(payload.amount),
        currency=payload.currency,
        payment_method=payload.payment_method,
        items=[
            checkout.Item(
                product_name=item.product_name,
                product_sku=item.product_sku,
                quantity=item.quantity,
                unit_price=Decimal(item.unit_price),
            )
            for item in payload.items
        ],
        points_to_redeem=payload.points_to_redeem,
        external_reference=payload.external_reference,
        status=payload.status,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    if not created:
        sale = selectors.sale_get(merchant=request.auth.merchant, transaction_id=sale.pk)
    return Status(201 if created else 200, schemas.sale_out(sale))


def _utc(name: str, value: datetime | None) -> datetime | None:
    """A time with an offset, in UTC (the database refuses some offsets Python accepts)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ApiError(422, "invalid", f"{name} needs an offset, e.g. +00:00.", fields={name: "needs an offset"})
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ApiError(422, "invalid", f"{name} is out of range.", fields={name: "out of range"}) from error


@api.get("/transactions", response={200: schemas.TransactionPage, **ERRORS}, tags=["transactions"])
def transaction_list(
    request,
    status: Literal["pending", "completed", "failed", "cancelled", "refunded"] | None = None,
    payment_method: Literal["cash", "card", "mobile", "other"] | None = None,
    customer_id: UUID | None = None,
    external_reference: schemas.Text | None = Query(None, max_length=100),
    created_after: datetime | None = Query(None, description="ISO 8601 with an offset; included."),
    created_before: datetime | None = Query(None, description="ISO 8601 with an offset; excluded."),
    cursor: schemas.Text | None = Query(None, max_length=200, description="`next_cursor` of the previous page."),
    limit: int = Query(50, ge=1, le=100),
):
    """The merchant's sales, newest first, a page at a time."""
    created_after = _utc("created_after", created_after)
    created_before = _utc("created_before", created_before)
    try:
        page = selectors.sale_page(
            merchant=request.auth.merchant,
            cursor=cursor,
            limit=limit,
            status=status,
            payment_method=payment_method,
            customer_id=customer_id,
            external_reference=external_reference,
            created_after=created_after,
            created_before=created_before,
        )
    except selectors.CursorError as error:
        raise ApiError(422, "invalid", str(error), fields={"cursor": str(error)}) from error
    return {"items": [schemas.sale_out(sale) for sale in page.items], "next_cursor": page.next_cursor}


@api.get("/transactions/{transaction_id}", response={200: schemas.TransactionOut, **ERRORS}, tags=["transactions"])
def transaction_get(request, transaction_id: UUID):
    """One sale of this merchant."""
    return schemas.sale_out(selectors.sale_get(merchant=request.auth.merchant, transaction_id=transaction_id))


def _existing_sale(request, transaction_id: UUID) -> None:
    """Another merchant's sale, or none: 404 before any write is tried."""
    selectors.sale_get(merchant=request.auth.merchant, transaction_id=transaction_id)


@api.post("/transactions/{transaction_id}/complete", response={200: schemas.TransactionOut, **ERRORS},
          tags=["transactions"], openapi_extra=writes)  # fmt: skip
@idempotent(api)
def transaction_complete(request, transaction_id: UUID):
    """Complete a pending sale: the points are awarded and redeemed now (or the sale is refused, 422)."""
    _existing_sale(request, transaction_id)
    merchant = request.auth.merchant
    refunds.transaction_complete(merchant=merchant, transaction_id=transaction_id, acting_user=request.auth.user)
    return schemas.sale_out(selectors.sale_get(merchant=merchant, transaction_id=transaction_id))


@api.post("/transactions/{transaction_id}/cancel", response={200: schemas.TransactionOut, **ERRORS},
          tags=["transactions"], openapi_extra=writes)  # fmt: skip
@idempotent(api)
def transaction_cancel(request, transaction_id: UUID):
    """Cancel a pending sale. A completed sale is refunded instead."""
    _existing_sale(request, transaction_id)
    merchant = request.auth.merchant
    refunds.transaction_cancel(merchant=merchant, transaction_id=transaction_id, acting_user=request.auth.user)
    return schemas.sale_out(selectors.sale_get(merchant=merchant, transaction_id=transaction_id))


@api.post("/transactions/{transaction_id}/refund", response={200: schemas.TransactionOut, **ERRORS},
          tags=["transactions"], openapi_extra=writes)  # fmt: skip
@idempotent(api)
def transaction_refund(request, transaction_id: UUID, payload: schemas.RefundIn):
    """Refund a completed sale, in full (no `amount`: everything not refunded yet) or in part.

    The points it earned are taken back, and the points it redeemed given back, in proportion.
    """
    merchant = request.auth.merchant
    selectors.sale_get(merchant=merchant, transaction_id=transaction_id)
    refunds.transaction_refund(
        merchant=merchant,
        transaction_id=transaction_id,
        acting_user=request.auth.user,
        amount=Decimal(payload.amount) if payload.amount is not None else None,
    )
    return schemas.sale_out(selectors.sale_get(merchant=merchant, transaction_id=transaction_id))


# Customers


def _member(request, customer_id: UUID):
    member = analytics_selectors.member_get(merchant=request.auth.merchant, customer_id=customer_id)
    customer = customer_selectors.customer_get(customer_id)
    if customer is None:
        raise Http404
    return member, customer


@api.get("/customers/{customer_id}/account", response={200: schemas.AccountOut, **ERRORS}, tags=["customers"])
def customer_account(request, customer_id: UUID):
    """A customer's account here: points, tier, totals. 404 for a customer who never bought here."""
    member, customer = _member(request, customer_id)
    merchant = request.auth.merchant
    standing = loyalty_selectors.account_standing(merchant=merchant, customer_id=customer.pk)
    return schemas.account_out(member, customer, standing, merchant.timezone)


@api.get("/customers/{customer_id}/ledger", response={200: schemas.LedgerPage, **ERRORS}, tags=["customers"])
def customer_ledger(
    request,
    customer_id: UUID,
    cursor: schemas.Text | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=100),
):
    """A customer's points movements here, newest first, a page at a time."""
    member, _ = _member(request, customer_id)
    try:
        page = selectors.ledger_page(account_id=member.account_id, cursor=cursor, limit=limit)
    except selectors.CursorError as error:
        raise ApiError(422, "invalid", str(error), fields={"cursor": str(error)}) from error
    zone = request.auth.merchant.timezone
    return {"items": [schemas.ledger_entry_out(e, zone) for e in page.items], "next_cursor": page.next_cursor}


# Analytics

MAX_DAYS = 366


@api.get("/analytics/daily", response={200: schemas.DailyAnalyticsOut, **ERRORS}, tags=["analytics"])
def analytics_daily(request, date_from: date, date_to: date):
    """The merchant's figures per local day, `date_from` to `date_to` included (at most 366 days)."""
    if date_to < date_from:
        raise ApiError(422, "invalid", "date_to is before date_from.", fields={"date_to": "before date_from"})
    if (date_to - date_from).days >= MAX_DAYS:
        raise ApiError(422, "invalid", f"At most {MAX_DAYS} days at a time.", fields={"date_to": "too far"})
    merchant = request.auth.merchant
    analytics_services.analytics_rollup(merchant=merchant)
    days = selectors.daily_figures(merchant=merchant, first=date_from, last=date_to)
    return {"currency": merchant.currency, "items": [schemas.day_out(day) for day in days]}
