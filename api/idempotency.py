"""`Idempotency-Key` for every write: a retry gets the first response, and changes nothing.

The write's answer is stored under its key at the end of the write's own database transaction. A
retry of a write that committed does the write again, finds the key taken, and is rolled back: it
replays the stored response. A retry racing the first request waits on the key's unique index until
that transaction ends, and then does the same. The same key with another body (method, path and JSON)
is a 409.
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
    """The stored answer to a key used before: replayed, or a 409 for another body."""
    if record.fingerprint != digest:
        raise ApiError(409, "idempotency_key_reused", f"This {HEADER} was used for another request: use a new one.")
    return replay(record)


def store(request, key: str, digest: str, response: HttpResponse):
    return services.idempotency_record(
        api_key=request.auth, key=key, fingerprint=digest, status=response.status_code, body=response.content.decode()
    )


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
                try:
                    result = view(request, *args, **kwargs)
                    response = operation._result_to_response(request, result, api.create_temporal_response(request))
                except Exception as error:  # noqa: BLE001 (turned into the API's error response, stored below)
                    transaction.set_rollback(True)  # the write is undone: no savepoint around it
                    failure = error
                else:
                    if response.status_code >= 500:
                        transaction.set_rollback(True)  # not stored: a retry tries again
                        return response
                    first = store(request, key, digest, response)
                    if first is None:
                        return response
                    transaction.set_rollback(True)  # answered before: this write is undone
                    return answered(first, digest)
            response = api.on_exception(request, failure)
            if response.status_code >= 500:
                return response
            # The refusal is stored under the key, unless another request has answered it meanwhile.
            with transaction.atomic():
                first = store(request, key, digest, response)
            return response if first is None else answered(first, digest)

        return wrapper

    return decorate
