"""The public license API, called by the software a key unlocks, without an API key, in Dodo Payments' shapes:
`POST /licenses/activate`, `/licenses/deactivate` and `/licenses/validate` for live keys, the same paths under
`/test/` for test keys (billing/license_activation.py says why a key answers in its own mode only). A call to the
unprefixed paths that presents a business's test API key (as Dodo's SDK does, at the one base URL) is a test call.

Answers: 201 with the new instance; 200 for a deactivation (`{}`) and a validation (`{"valid": …}` and the key's
facts); 404 for an unknown key or an instance that is not that key's; 403 for a disabled or expired key; 422 at the
activation limit, for an empty or overlong name, and for a body that is not a JSON object with the expected string
fields (nothing is changed); 429 with Retry-After past the rate limits, per client address and per key. Errors are
the merchant API's `{code, message, field}`, in English.

An instance carries Dodo's fields except `customer`: a key travels to every device it unlocks, and whoever holds it
learns nothing about whom it was sold to (no email, name or customer id).
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from access import rate_limits
from billing.license_activation import (
    Activation,
    LicenseError,
    Validation,
    activate,
    deactivate,
    validate,
)
from core.clock import utcnow
from gateway.http.json_body import BadBody, Body, StringField, string_fields
from gateway.http.request_auth import presented_api_key
from gateway.pages.common import client_address
from gateway.rest.errors import RestErrorCode, bad_body, error_response, rest_error
from models import Product

Action = Callable[[Body, bool], Awaitable[Response]]


def _too_many(rate_limit: rate_limits.RateLimit, now: datetime) -> JSONResponse:
    """429 with the seconds until the limit's current window ends."""
    seconds = rate_limits.retry_after_seconds(rate_limit, now)
    message = f"Too many license requests. Try again in {seconds} s."
    return error_response(RestErrorCode.RATE_LIMITED, message, retry_after=seconds)


async def _livemode(request: Request, livemode: bool) -> bool:
    """The mode of the call: the path's, unless a live path is called with a test API key."""
    if not livemode:
        return False
    api_key = await presented_api_key(request)
    return api_key is None or api_key.livemode


def _endpoint(
    fields: tuple[StringField, ...], action: Action, path_livemode: bool
) -> Callable[[Request], Awaitable[Response]]:
    """A license call: counted against the client's address, its body read, counted against its key, then done."""

    async def endpoint(request: Request) -> Response:
        now = utcnow()
        if not await rate_limits.hit(rate_limits.LICENSE_CALLS_PER_ADDRESS, client_address(request), now):
            return _too_many(rate_limits.LICENSE_CALLS_PER_ADDRESS, now)
        try:
            body = await string_fields(request, fields)
        except BadBody as bad:
            return bad_body(bad).response()
        if not await rate_limits.hit(rate_limits.LICENSE_CALLS_PER_KEY, body["license_key"], now):
            return _too_many(rate_limits.LICENSE_CALLS_PER_KEY, now)
        try:
            return await action(body, await _livemode(request, path_livemode))
        except LicenseError as error:
            return rest_error(error).response()

    return endpoint


def _product(product: Product) -> dict:
    return {"product_id": product.id, "name": product.name}


def instance_json(activation: Activation) -> dict:
    instance, key = activation.instance, activation.license_key
    return {
        "id": instance.id,
        "business_id": key.business_id,
        "license_key_id": key.id,
        "name": instance.name,
        "created_at": instance.created_at.isoformat(),
        "product": _product(activation.product),
    }


def validation_json(validation: Validation) -> dict:
    key = validation.license_key
    return {
        "valid": validation.valid,
        "license_key_id": key.id,
        "status": str(validation.status),
        "activations_limit": key.activations_limit,
        "instances_count": validation.instances_count,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "product": _product(validation.product),
    }


async def _activate(body: Body, livemode: bool) -> Response:
    activation = await activate(body["license_key"], body["name"], livemode=livemode)
    return JSONResponse(instance_json(activation), status_code=201)


async def _deactivate(body: Body, livemode: bool) -> Response:
    await deactivate(body["license_key"], body["license_key_instance_id"], livemode=livemode)
    return JSONResponse({})


async def _validate(body: Body, livemode: bool) -> Response:
    validation = await validate(body["license_key"], body["license_key_instance_id"], livemode=livemode)
    return JSONResponse(validation_json(validation))


_KEY = StringField("license_key")
_CALLS = {
    "activate": ((_KEY, StringField("name")), _activate),
    "deactivate": ((_KEY, StringField("license_key_instance_id")), _deactivate),
    "validate": ((_KEY, StringField("license_key_instance_id", required=False)), _validate),
}


def routes() -> list[BaseRoute]:
    return [
        Route(f"{prefix}/licenses/{call}", _endpoint(fields, action, livemode), methods=["POST"])
        for prefix, livemode in (("", True), ("/test", False))
        for call, (fields, action) in _CALLS.items()
    ]
