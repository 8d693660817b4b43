"""`Idempotency-Key` for every write: a retry gets the first response, and changes nothing.

The key is claimed by inserting its record in the same database transaction as the write: a retry
that races the first request waits on the record's unique key until that transaction ends, then
replays the stored response. The same key with another body (method, path and JSON) is a 409.
"""

import functools
import hashlib
import json
import re

from django.db import transaction
from django.http import HttpResponse

from api import services
from api.errors import ApiError

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[!-~]{1,96}$")  # printable ASCII, no spaces
HEADER_DOC = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Any unique string of 1 to 96 printable characters (a UUID, say). A retry with the same key "
    "and body gets the first response; the same key with another body is refused (409). Kept 24 hours.",
    "schema": {"type": "string", "pattern": KEY_RE.pattern},
}


def fingerprint(request) -> str:
    try:
        body = json.dumps(json.loads(request.body), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        body = request.body.hex()
    text = f"{request.method} {request.get_full_path()}\n{body}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def replay(record) -> HttpResponse:
    response = HttpResponse(record.response_body, status=record.response_status, content_type="application/json")
    response["Idempotent-Replayed"] = "true"
    return response


def answered(record, digest: str) -> HttpResponse:
    """The stored answer to a key claimed before: replayed, or a 409 for another body or a request in flight."""
    if record.fingerprint != digest:
        raise ApiError(409, "idempotency_key_reused", f"This {HEADER} was used for another request: use a new one.")
    if record.response_status is None:
        raise ApiError(
            409,
            "idempotency_in_progress",
            "The first request with this key is still running.",
            headers={"Retry-After": "1"},
        )
    return replay(record)


def idempotent(api):
    """Decorate a write's view (below the router's decorator, so it runs after auth and validation)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return view(request, *args, **kwargs)
            if not KEY_RE.match(key):
                raise ApiError(
                    422,
                    "invalid",
                    f"{HEADER} is 1 to 96 printable characters without spaces.",
                    fields={HEADER: "1 to 96 printable characters without spaces"},
                )
            digest = fingerprint(request)
            operation = wrapper._ninja_operation  # the router's template of the operation
            operation.api = operation.api or api
            with transaction.atomic():
                claim = services.idempotency_claim(api_key=request.auth, key=key, fingerprint=digest)
                if not claim.owner:
                    return answered(claim.record, digest)
                try:
                    result = view(request, *args, **kwargs)
                    response = operation._result_to_response(request, result, api.create_temporal_response(request))
                except Exception as error:  # noqa: BLE001 (turned into the API's error response, stored below)
                    # The write and the claim are rolled back together: no savepoint around the write.
                    transaction.set_rollback(True)
                    failure = error
                else:
                    if response.status_code >= 500:
                        transaction.set_rollback(True)  # not stored: a retry tries again
                    else:
                        services.idempotency_store(
                            record=claim.record, status=response.status_code, body=response.content.decode()
                        )
                    return response
            response = api.on_exception(request, failure)
            if response.status_code >= 500:
                return response
            # The refusal is stored under the key, unless a racing retry has claimed it meanwhile.
            with transaction.atomic():
                claim = services.idempotency_claim(api_key=request.auth, key=key, fingerprint=digest)
                if not claim.owner:
                    return answered(claim.record, digest)
                services.idempotency_store(
                    record=claim.record, status=response.status_code, body=response.content.decode()
                )
            return response

        return wrapper

    return decorate
