"""The REST API's errors: one JSON shape (`{"code", "message", "field"}`), one set of codes with one HTTP status
each, and the one mapper from a domain's DomainError.

The codes are every domain's (the enums the GraphQL `ErrorCode` declares, schema.common.errors) and the few the
HTTP layer answers before any domain sees the request (`RestErrorCode`). The README's "Errors" table lists them all.
Messages are English, the language of the developers who read them; `field` is the body's path (`billing.country`)
or the header's name (`Idempotency-Key`).
"""

import re
from enum import StrEnum
from typing import Any

from starlette.responses import JSONResponse

from core.errors import DomainError
from gateway.http.json_body import BadBody
from merchants.inputs import MerchantErrorCode
from schema.common.errors import DOMAIN_CODES


class RestErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    # The body is not a JSON object in UTF-8 (a field of the wrong JSON type is the domains' INVALID_INPUT).
    INVALID_BODY = "INVALID_BODY"
    INVALID_QUERY = "INVALID_QUERY"
    INVALID_UNICODE = "INVALID_UNICODE"
    ITEMS_NOT_SUPPORTED = "ITEMS_NOT_SUPPORTED"
    INVALID_CODE = "INVALID_CODE"
    # An inbound processor event whose signature is not its account's: refused before its body is read.
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNAVAILABLE = "UNAVAILABLE"


REST_CODES: tuple[type[StrEnum], ...] = (*DOMAIN_CODES, RestErrorCode)

_DECLINES = ("CARD_DECLINED", "INSUFFICIENT_FUNDS", "EXPIRED_CARD", "INCORRECT_CVC", "AUTHENTICATION_FAILED")
# Every code not named here is a 422: the request was understood and refused as it was.
STATUS_OF: dict[str, int] = {
    "INVALID_UNICODE": 400,
    "INVALID_CODE": 400,
    "INVALID_SIGNATURE": 400,
    "UNAUTHENTICATED": 401,
    **dict.fromkeys(_DECLINES, 402),
    "PROCESSING_ERROR": 402,
    "LICENSE_KEY_DISABLED": 403,
    "LICENSE_KEY_EXPIRED": 403,
    # An id in the path (or the one the request is about) that the key cannot see, exactly as a missing one.
    "NOT_FOUND": 404,
    "CUSTOMER_NOT_FOUND": 404,
    "INSTANCE_NOT_FOUND": 404,
    "TOKEN_NOT_FOUND": 404,
    "IDEMPOTENCY_KEY_REUSED": 409,
    "CHANGE_IN_PROGRESS": 409,
    "DUPLICATE_SUBSCRIPTION": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "UNAVAILABLE": 503,
}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="merchant-api"'}
# The refusals a retry may cure; every other answers `x-should-retry: false`, which Dodo's SDK obeys (it would retry a
# 409 twice otherwise).
_RETRYABLE = {"CHANGE_IN_PROGRESS", "RATE_LIMITED", "UNAVAILABLE"}
# Domain fields that are headers in this API.
_HEADERS = {"idempotency_key": "Idempotency-Key"}


def status_of(code: str) -> int:
    return STATUS_OF.get(code, 422)


def body_path(field: str | None) -> str | None:
    """A domain's field as this API names it: `billingAddress.postalCode` → `billing_address.postal_code`."""
    if field is None:
        return None
    path = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", field).lower()
    return _HEADERS.get(path, path)


class RestError(Exception):
    """A refusal a handler raises: its code (which decides the status), a sentence and the field to blame."""

    def __init__(
        self, code: StrEnum, message: str, field: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        return error_response(self.code, self.message, self.field, retry_after=self.retry_after)


def rest_error(error: DomainError[Any], field: str | None = None) -> RestError:
    """A domain's refusal as this API answers it; `field` overrides the body path when the API's body nests it."""
    first = error.details()[0]
    return RestError(first.code, first.text(), field or body_path(first.field))


def bad_body(bad: BadBody) -> RestError:
    """A body that is not a JSON object (INVALID_BODY), or a field of it of the wrong JSON type (INVALID_INPUT)."""
    code = RestErrorCode.INVALID_BODY if bad.field is None else MerchantErrorCode.INVALID_INPUT
    return RestError(code, bad.message, bad.field)


def not_found(kind: str) -> RestError:
    return RestError(MerchantErrorCode.NOT_FOUND, f"No {kind} with that id.")


def error_response(
    code: StrEnum, message: str, field: str | None = None, *, retry_after: int | None = None
) -> JSONResponse:
    status_code = status_of(code)
    headers = dict(_CHALLENGE) if status_code == 401 else {}
    if code not in _RETRYABLE:
        headers["x-should-retry"] = "false"
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = {"code": code.value, "message": message, "field": field}
    return JSONResponse(body, status_code=status_code, headers=headers)
